import { E11Error, ErrorCode } from '../errors.js';
import { type Logger } from '../logging.js';
import { type Store } from '../store/store.js';

/** A real-time view of one orchestration's `cancelRequested` flag, held for the length of a launch run. */
export interface CancelWatch {
  /** Aborts (with an `E11_CANCELLED` error) once the orchestration's cancel is requested. */
  readonly signal: AbortSignal;
  /** Detaches the listener. Idempotent. */
  stop(): void;
}

/**
 * Listens to the orchestration document so a launch run learns of `cancel()` at once, wherever it was
 * called, and stops sending requests. If the listener fails, launching goes on (each task still finds
 * its job Cancelled); the failure is logged.
 */
export function watchCancelRequest(store: Store, orchestrationId: string, logger: Logger): CancelWatch {
  const controller = new AbortController();
  let unsubscribe: (() => void) | undefined;
  const stop = () => {
    unsubscribe?.();
    unsubscribe = undefined;
  };
  unsubscribe = store.collections.orchestration(orchestrationId).onSnapshot(
    (snapshot) => {
      if (snapshot.get('cancelRequested') !== true || controller.signal.aborted) return;
      controller.abort(
        new E11Error(ErrorCode.Cancelled, `Orchestration ${orchestrationId} was cancelled.`, {
          context: { orchestrationId },
        }),
      );
      stop();
    },
    (error) =>
      logger.warn(
        { orchestrationId, err: error.message },
        'lost the cancel listener of a launch run: launching goes on without it',
      ),
  );
  return { signal: controller.signal, stop };
}
