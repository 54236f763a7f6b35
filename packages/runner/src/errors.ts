/**
 * Errors a job throws to steer retries. Anything else a job throws is judged by the job's `retryOn`
 * predicate (by default: retried only when the error says `retryable: true`).
 */

/** Options of {@link TransientError} and {@link PermanentError}. */
export interface JobErrorOptions {
  cause?: unknown;
  /** A stable code stored with the failure. */
  code?: string;
}

/** A failure worth retrying (network blip, rate limit, lock contention): retried with backoff while attempts remain. */
export class TransientError extends Error {
  override readonly name: string = 'TransientError';
  readonly retryable = true;
  readonly code: string;

  constructor(message: string, options: JobErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code ?? 'E11_TRANSIENT';
  }
}

/** A failure that retrying cannot fix (bad input, missing data): never retried, whatever `retryOn` says. */
export class PermanentError extends Error {
  override readonly name: string = 'PermanentError';
  readonly retryable = false;
  readonly code: string;

  constructor(message: string, options: JobErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code ?? 'E11_PERMANENT';
  }
}
