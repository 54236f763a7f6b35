import { backoffDelay, DEFAULTS, ErrorCode, isE11Error, type JobPolicy, toMs } from '@e11/core';

import { PermanentError, TransientError } from './errors.js';
import type { JobOptions } from './job-name.js';

/** The retry and timeout settings one job runs with. */
export interface ResolvedPolicy {
  maxAttempts: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
  multiplier: number;
  jitter: boolean;
  /** Per-attempt time limit, or null for none. */
  timeoutMs: number | null;
  retryOn: (error: unknown, attempt: number) => boolean;
}

/** The default `retryOn`: errors that say `retryable: true`, and the job's own timeouts. */
export function defaultRetryOn(error: unknown): boolean {
  if (error instanceof TransientError || isE11Error(error, ErrorCode.Timeout)) return true;
  return typeof error === 'object' && error !== null && (error as { retryable?: unknown }).retryable === true;
}

/**
 * Merges the kick-off's overrides (the orchestration's `policy`; null = not set), the job class's
 * `@JobName` options and the defaults, in that order of precedence.
 */
export function resolvePolicy(kickOff: JobPolicy, options: JobOptions): ResolvedPolicy {
  const backoff = options.backoff ?? {};
  return {
    maxAttempts: kickOff.maxAttempts ?? options.maxAttempts ?? DEFAULTS.maxAttempts,
    initialBackoffMs: kickOff.initialBackoffMs ?? backoff.initialMs ?? DEFAULTS.retryInitialBackoffMs,
    maxBackoffMs: kickOff.maxBackoffMs ?? backoff.maxMs ?? DEFAULTS.retryMaxBackoffMs,
    multiplier: backoff.multiplier ?? DEFAULTS.retryMultiplier,
    jitter: backoff.jitter ?? true,
    timeoutMs:
      kickOff.jobTimeoutMs ?? (options.timeout === undefined ? null : toMs(options.timeout, 'timeout')),
    retryOn: options.retryOn ?? defaultRetryOn,
  };
}

/**
 * Whether a failed attempt is retried in the task: never for PermanentError or schema failures;
 * otherwise when `retryOn` says so and attempts remain (`attemptsUsed` counts this epoch's attempts).
 */
export function shouldRetry(
  policy: ResolvedPolicy,
  error: unknown,
  attempt: number,
  attemptsUsed: number,
): boolean {
  if (error instanceof PermanentError || isE11Error(error, ErrorCode.ValidationFailed)) return false;
  if (attemptsUsed >= policy.maxAttempts) return false;
  try {
    return policy.retryOn(error, attempt);
  } catch {
    return false;
  }
}

/** Whether the error would have been retried if attempts remained (then exhausting them dead-letters the job). */
export function isRetryableFailure(policy: ResolvedPolicy, error: unknown, attempt: number): boolean {
  return shouldRetry({ ...policy, maxAttempts: Number.POSITIVE_INFINITY }, error, attempt, 0);
}

/** The wait before retry number `retry` (1 = first retry). */
export function retryDelayMs(policy: ResolvedPolicy, retry: number, random?: () => number): number {
  return backoffDelay(
    retry,
    {
      initialMs: policy.initialBackoffMs,
      maxMs: policy.maxBackoffMs,
      multiplier: policy.multiplier,
      jitter: policy.jitter,
    },
    random,
  );
}
