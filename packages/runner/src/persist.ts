import { backoffDelay, delay, isRetryableGrpcError } from '@e11/core';

/**
 * How long a task keeps retrying a status write while Firestore is unreachable. `normal`: about two
 * minutes — a brief outage or a network blip must not turn a finished job into a "crashed" one (if it
 * still fails, the task exits non-zero and the sweeper treats the job as crashed). `short`: what fits
 * in Cloud Run's 10 s between SIGTERM and SIGKILL after the job's own grace period.
 */
const BUDGETS = {
  normal: { totalMs: 120_000, initialMs: 500, maxMs: 15_000 },
  short: { totalMs: 1_500, initialMs: 100, maxMs: 500 },
} as const;

/**
 * Runs a status write (claim, complete, fail, release, loads), retrying retryable gRPC errors
 * (UNAVAILABLE, DEADLINE_EXCEEDED, ...) with exponential backoff and full jitter until the budget is
 * spent; then, or on any other error, rejects with the last error.
 */
export async function persist<T>(
  write: () => Promise<T>,
  budget: keyof typeof BUDGETS = 'normal',
): Promise<T> {
  const { totalMs, initialMs, maxMs } = BUDGETS[budget];
  const deadline = performance.now() + totalMs;
  for (let retry = 1; ; retry++) {
    try {
      return await write();
    } catch (error) {
      const left = deadline - performance.now();
      if (!isRetryableGrpcError(error) || left <= 0) throw error;
      await delay(Math.min(left, backoffDelay(retry, { initialMs, maxMs })));
    }
  }
}
