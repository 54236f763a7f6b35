/** Exponential backoff settings. */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  /** @default 2 */
  multiplier?: number;
  /** Full jitter (a random delay between 0 and the exponential value). @default true */
  jitter?: boolean;
}

/** The delay before retry number `retry` (1 = first retry): `min(max, initial * multiplier^(retry-1))`, jittered. */
export function backoffDelay(
  retry: number,
  options: BackoffOptions,
  random: () => number = Math.random,
): number {
  const exponential = options.initialMs * Math.pow(options.multiplier ?? 2, Math.max(0, retry - 1));
  const capped = Math.min(options.maxMs, exponential);
  return Math.round(options.jitter === false ? capped : random() * capped);
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Options for {@link retryWithBackoff}. */
export interface RetryOptions extends BackoffOptions {
  /** Total attempts, first one included (`Infinity`: bounded by `budgetMs` or `isRetryable` only). */
  maxAttempts: number;
  /**
   * Time budget from the first attempt: no wait goes past it, and once it is spent the last error is
   * thrown. @default no budget
   */
  budgetMs?: number;
  /** Whether `error`, thrown by attempt number `attempt` (1 = first), is worth another attempt. */
  isRetryable(error: unknown, attempt: number): boolean;
  signal?: AbortSignal;
  /** Called before each wait (for logging and counting). */
  onRetry?(error: unknown, retry: number, delayMs: number): void;
  /** @default Date.now */
  now?: () => number;
}

/**
 * Calls `fn` until it succeeds, a non-retryable error occurs, attempts run out or the time budget is
 * spent (then the last error). An aborted `signal` ends a wait with the signal's reason.
 */
export async function retryWithBackoff<T>(
  fn: (attempt: number) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  const now = options.now ?? Date.now;
  const startedAt = now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (attempt >= options.maxAttempts || !options.isRetryable(error, attempt)) throw error;
      const remainingMs = options.budgetMs === undefined ? Infinity : options.budgetMs - (now() - startedAt);
      if (remainingMs <= 0) throw error;
      const wait = Math.min(backoffDelay(attempt, options), remainingMs);
      options.onRetry?.(error, attempt, wait);
      await delay(wait, options.signal);
    }
  }
}
