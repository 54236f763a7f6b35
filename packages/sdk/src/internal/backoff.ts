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
  /** Total attempts, first one included. */
  maxAttempts: number;
  isRetryable(error: unknown): boolean;
  signal?: AbortSignal;
  /** Called before each wait (for logging and counting). */
  onRetry?(error: unknown, retry: number, delayMs: number): void;
}

/** Calls `fn` until it succeeds, a non-retryable error occurs, or attempts run out (then the last error). */
export async function retryWithBackoff<T>(
  fn: (attempt: number) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (attempt >= options.maxAttempts || !options.isRetryable(error)) throw error;
      const wait = backoffDelay(attempt, options);
      options.onRetry?.(error, attempt, wait);
      await delay(wait, options.signal);
    }
  }
}
