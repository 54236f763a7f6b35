import { DEFAULTS } from '../defaults.js';
import type { JobPolicy } from '../model/documents.js';

/** The retry and timeout settings a job class declares with `@JobName` (absent: not declared). */
export interface DeclaredPolicy {
  maxAttempts?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  jobTimeoutMs?: number;
}

/**
 * A job's policy, resolved once at kick-off and stored on the orchestration. The rule, field by field:
 * the kick-off's option, else the job class's declaration, else `DEFAULTS` (no per-job timeout by
 * default) — when the class is known to the backend (`kickOffJob(JobClass, …)` or the `jobs` option).
 * A kick-off by a name the backend does not know stores only what the kick-off set (the other fields
 * stay `null`): the container, which has the class, fills them the same way (`resolvePolicy` in
 * @e11/runner), and the backend's own readers (the sweeper) use `DEFAULTS` for them until the task
 * records its attempts. Stored non-null fields always win in the container.
 */
export function resolveJobPolicy(kickOff: JobPolicy, declared: DeclaredPolicy | undefined): JobPolicy {
  if (declared === undefined) return kickOff;
  return {
    ...kickOff,
    maxAttempts: kickOff.maxAttempts ?? declared.maxAttempts ?? DEFAULTS.maxAttempts,
    initialBackoffMs: kickOff.initialBackoffMs ?? declared.initialBackoffMs ?? DEFAULTS.retryInitialBackoffMs,
    maxBackoffMs: kickOff.maxBackoffMs ?? declared.maxBackoffMs ?? DEFAULTS.retryMaxBackoffMs,
    jobTimeoutMs: kickOff.jobTimeoutMs ?? declared.jobTimeoutMs ?? null,
  };
}
