// @e11/runner — the container side of E11 Jobs: @JobName classes, runE11Job and the job context.
export { activeSpanContext } from './attempt-trace.js';
export type { JobContext } from './context.js';
export { type JobErrorOptions, PermanentError, TransientError } from './errors.js';
export { executeJob, type ExecuteJobOptions } from './execute-job.js';
export {
  type BackoffSettings,
  type E11Job,
  type E11JobOf,
  getJobDefinition,
  type JobClass,
  type JobClassFor,
  type JobDefinition,
  JobName,
  type JobOptions,
} from './job-name.js';
// Job handles: one declaration of a job's name, params, result and schema, shared with the backend.
export {
  defineJob,
  type JobHandle,
  type ParamsOf,
  type ResultOf,
  type RunParamsOf,
  type StandardSchemaV1,
} from '@e11/core';
export { createRunnerLogger, type LogLabels, type RunnerLogger, type RunnerLoggerOptions } from './logger.js';
export { ExitCode, type ExitCodeValue, type ExecuteJobResult, type ExecuteOutcome } from './outcome.js';
export { createRedactor, REDACTED } from './redact.js';
export { buildRegistry } from './registry.js';
export {
  defaultRetryOn,
  type ResolvedPolicy,
  resolvePolicy,
  retryDelayMs,
  shouldRetry,
} from './retry-policy.js';
export { runE11Job, type RunE11JobOptions } from './run-e11-job.js';
