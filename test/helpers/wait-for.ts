import type { DocumentReference, DocumentSnapshot, Query, QuerySnapshot } from '@google-cloud/firestore';

/** How often a wait reads its target itself, besides listening to it. */
const RECHECK_MS = 2_000;

/**
 * Resolves with what `accept` returns for the first snapshot of `target` it accepts (returns something
 * other than `undefined` for). A real-time listener, plus a read every 2 s: the emulator's listener has
 * been seen not to deliver a change, or even its first snapshot, under a full suite's load, as
 * watch() guards against with its own re-reads. Rejects after `timeoutMs` with `what` in the message.
 */
export function waitForSnapshot<T>(
  target: DocumentReference,
  accept: (snapshot: DocumentSnapshot) => T | undefined,
  options: { what: string; timeoutMs?: number },
): Promise<T>;
export function waitForSnapshot<T>(
  target: Query,
  accept: (snapshot: QuerySnapshot) => T | undefined,
  options: { what: string; timeoutMs?: number },
): Promise<T>;
export function waitForSnapshot<T>(
  target: DocumentReference | Query,
  accept: (snapshot: never) => T | undefined,
  options: { what: string; timeoutMs?: number },
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  // DocumentReference and Query share get() and onSnapshot(); TypeScript cannot call a union's overloads.
  const source = target as unknown as {
    get(): Promise<unknown>;
    onSnapshot(next: (snapshot: unknown) => void, error: (error: Error) => void): () => void;
  };
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const finish = (fn: () => void) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearInterval(recheck);
      unsubscribe();
      fn();
    };
    const check = (snapshot: unknown) => {
      let value: T | undefined;
      try {
        value = (accept as (snapshot: unknown) => T | undefined)(snapshot);
      } catch (error) {
        finish(() => reject(error instanceof Error ? error : new Error(String(error))));
        return;
      }
      if (value !== undefined) finish(() => resolve(value));
    };
    const timer = setTimeout(
      () => finish(() => reject(new Error(`${options.what} did not happen within ${timeoutMs} ms`))),
      timeoutMs,
    );
    const recheck = setInterval(() => {
      source.get().then(check, () => undefined);
    }, RECHECK_MS);
    const unsubscribe = source.onSnapshot(check, (error) => finish(() => reject(error)));
  });
}
