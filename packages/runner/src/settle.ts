/** How a job's `run` ended. `hung`: it had not settled `graceMs` after the signal aborted. */
export type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown; hung: boolean };

/**
 * Waits for `work`; once `signal` aborts, waits at most `graceMs` more, then gives up with the
 * signal's reason (`hung: true`) — a job that ignores its AbortSignal cannot keep the task past Cloud
 * Run's grace period.
 */
export function settle<T>(
  work: () => Promise<T> | T,
  signal: AbortSignal,
  graceMs: number,
): Promise<Settled<T>> {
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const done = (result: Settled<T>) => {
      if (timer) clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(result);
    };
    const onAbort = () => {
      timer = setTimeout(() => done({ ok: false, error: signal.reason, hung: true }), graceMs);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    Promise.resolve()
      .then(work)
      .then(
        (value) => done({ ok: true, value }),
        (error: unknown) => done({ ok: false, error, hung: false }),
      );
  });
}
