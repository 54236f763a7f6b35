// @e11/core/task — what a job's task (the runner) needs from core, and nothing of the backend's or
// the trigger's parts (registration, completion, the JobCompletedEvent, counters, recovery): a task
// process loads fewer modules and builds fewer schemas before its job starts. Every name here is
// also exported by '@e11/core' (the same module instances).
export { type ClientOptions, createFirestore } from '../clients/firestore.js';
export type { Clock } from '../clock.js';
export { DEFAULTS } from '../defaults.js';
export { type Duration, toMs } from '../duration.js';
export { E11Error, ErrorCode, isE11Error } from '../errors.js';
export { backoffDelay, delay } from '../internal/backoff.js';
export { isRetryableGrpcError } from '../internal/grpc-errors.js';
export { cloudLoggingOptions, type Logger } from '../logging.js';
export type { JobDoc, JobErrorInfo, JobPolicy, OrchestrationDoc } from '../model/documents.js';
export type { JobParams } from '../model/json.js';
export { JobStatus } from '../model/status.js';
export { boundJobError } from '../store/bounded-text.js';
export { attemptsInEpoch, claimJob } from '../store/claim-job.js';
export { failPendingJob } from '../store/fail-pending-job.js';
export {
  completeJob,
  failJob,
  type FailureOutcome,
  type FinishOutcome,
  type OwnedJob,
  releaseJob,
} from '../store/finish-job.js';
export {
  type ActivityOutcome,
  recordHeartbeat,
  recordProgress,
  type RunningJob,
  saveCheckpoint,
} from '../store/job-activity.js';
export { createRedactor, REDACTED } from '../monitoring/redact.js';
export { findOrchestration, loadJob, loadJobByIndex } from '../store/orchestration-docs.js';
export { addSensitiveKeys } from '../store/sensitive-keys.js';
export { createStore, type Store } from '../store/store.js';
export {
  buildTaskEnv,
  CloudRunEnvName,
  type CloudRunTask,
  cloudRunTaskEnv,
  parseTaskEnv,
  type TaskEnv,
  type TaskEnvInput,
  TaskEnvName,
} from './task-contract.js';
export { validateJobName } from '../validate/job-name.js';
export { firestoreValueSize } from '../validate/params.js';
