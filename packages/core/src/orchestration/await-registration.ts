import { DEFAULTS } from '../defaults.js';
import { E11Error, ErrorCode } from '../errors.js';
import { type OrchestrationDoc, orchestrationDocSchema } from '../model/documents.js';
import { parseDocument } from '../model/parse.js';
import { type Store } from '../store/store.js';

/**
 * For a kick-off whose orchestration already exists: checks it is the same kick-off (same tenant, job
 * name and size; `E11_INVALID_OPTIONS` at once otherwise, saying nothing about another tenant's
 * orchestration), then waits until the first call registered every job. Resolves `null` when the
 * orchestration is deleted meanwhile; `E11_TIMEOUT` (retryable) after `DEFAULTS.duplicateRegistrationWaitMs`.
 */
export function awaitRegistration(
  store: Store,
  orchestrationId: string,
  jobName: string,
  total: number,
): Promise<OrchestrationDoc | null> {
  const ref = store.collections.orchestration(orchestrationId);
  return new Promise<OrchestrationDoc | null>((resolve, reject) => {
    const settle = (finish: () => void) => {
      clearTimeout(timer);
      unsubscribe();
      finish();
    };
    const timer = setTimeout(() => {
      settle(() =>
        reject(
          new E11Error(ErrorCode.Timeout, `Orchestration ${orchestrationId} was not registered in time.`, {
            retryable: true,
          }),
        ),
      );
    }, DEFAULTS.duplicateRegistrationWaitMs);
    const unsubscribe = ref.onSnapshot(
      (snapshot) => {
        if (!snapshot.exists) {
          settle(() => resolve(null));
          return;
        }
        let current: OrchestrationDoc;
        try {
          current = parseDocument(orchestrationDocSchema, snapshot);
        } catch (error) {
          settle(() => reject(error instanceof Error ? error : new Error(String(error))));
          return;
        }
        if (current.tenant !== store.tenant) {
          // Another tenant's orchestration at this id (a crafted collision, or an unscoped service's
          // data): never a duplicate of this kick-off, and nothing about it may be told.
          settle(() =>
            reject(
              new E11Error(
                ErrorCode.InvalidOptions,
                'idempotencyKey already used; a different kick-off needs a different key.',
                { context: { path: 'idempotencyKey' } },
              ),
            ),
          );
          return;
        }
        if (current.jobName !== jobName || current.total !== total) {
          const used = `${current.total} × '${current.jobName}'`;
          settle(() =>
            reject(
              new E11Error(
                ErrorCode.InvalidOptions,
                `idempotencyKey '${current.idempotencyKey ?? ''}' was already used for ${used}; ` +
                  `a different kick-off needs a different key.`,
                { context: { orchestrationId, path: 'idempotencyKey' } },
              ),
            ),
          );
          return;
        }
        if (current.registered) settle(() => resolve(current));
      },
      (error) => settle(() => reject(error)),
    );
  });
}
