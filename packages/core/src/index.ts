// @e11/core — the shared model every E11 process uses: errors, defaults, durations, document schemas,
// paths, the store (each state change one named function), completion detection, the event schema
// and the task contract. It loads Firestore, pino, zod and @opentelemetry/api only, so a job image stays small.
export {
  type ClientOptions,
  createFirestore,
  resolveDatabaseId,
  resolveProjectId,
} from './clients/firestore.js';
export {
  fromGoogleError,
  type GoogleService,
  grpcStatusName,
  type HintEnv,
  unreachableHint,
} from './clients/google-errors.js';
export {
  activeGcloudConfig,
  gcloudConfigDir,
  gcloudConfigProperty,
  gcloudConfigRegion,
  parseGcloudConfig,
  type ReadTextFile,
  REGION_ENV_NAMES,
  REGION_HOW_TO,
  type RegionEnv,
  requireRegion,
  resolveRegion,
} from './clients/region.js';
export { type Clock, systemClock } from './clock.js';
export { CLOUD_RUN_JOB_PRICES, costOf, type JobPricing, type OrchestrationCost } from './cost/pricing.js';
export { type JobResources, parseCpu, parseMemoryGiB, type ResourceLimits } from './cost/resources.js';
export {
  checkCompletion,
  type CompletionCheck,
  type CompletionDeps,
  retryPublish,
} from './completion/check-completion.js';
export {
  createPubSubPublisher,
  type EventPublisher,
  type PubSubPublisherOptions,
} from './completion/event-publisher.js';
export { republishPendingEvents, type RepublishOptions } from './completion/republish-pending.js';
export { DEFAULTS } from './defaults.js';
export { type Duration, toMs } from './duration.js';
export {
  E11Error,
  type E11ErrorContext,
  type E11ErrorOptions,
  ErrorCode,
  type ErrorCodeValue,
  isE11Error,
} from './errors.js';
export {
  buildJobCompletedEvent,
  type JobCompletedEvent,
  jobCompletedEventSchema,
  parseJobCompletedEvent,
  RESERVED_ATTRIBUTES,
  toPubSubMessage,
} from './events/job-completed-event.js';
export {
  backoffDelay,
  type BackoffOptions,
  delay,
  retryWithBackoff,
  type RetryOptions,
} from './internal/backoff.js';
export { fromGrpcError, grpcCodeOf, GrpcStatus, isRetryableGrpcError } from './internal/grpc-errors.js';
export { deterministicUuid, jobIdFor } from './internal/ids.js';
export {
  type CloudLoggingOptions,
  cloudLoggingOptions,
  type CloudLoggingSettings,
  createLogger,
  type Logger,
} from './logging.js';
export { Collections, type JobDocumentPath, parseJobDocumentPath } from './model/collections.js';
export {
  type AttemptRecord,
  type Claim,
  type CompletionDoc,
  completionDocSchema,
  defaultJobPolicy,
  encodeParams,
  type JobDoc,
  type NewJobDoc,
  jobDocSchema,
  type JobErrorInfo,
  type JobPolicy,
  type OrchestrationDoc,
  orchestrationDocSchema,
} from './model/documents.js';
export type { JobParams, JsonValue } from './model/json.js';
export {
  type AnyJobHandle,
  defineJob,
  type DefineJobOptions,
  type DefineJobSpec,
  isJobHandle,
  type JobClassReference,
  type JobHandle,
  type ParamsOf,
  type ResultOf,
  type RunParamsOf,
} from './orchestration/job-handle.js';
export { formatIssuePath, type StandardSchemaV1 } from './orchestration/standard-schema.js';
export { parseDocument, parseJobDocument } from './model/parse.js';
export { createRedactor, REDACTED, redactJob, redactParams } from './monitoring/redact.js';
export {
  countField,
  emptyCounts,
  endStatus,
  hasEnded,
  isTerminal,
  JobStatus,
  type OrchestrationStatus,
  type StatusCounts,
  TERMINAL_STATUSES,
  terminalCount,
} from './model/status.js';
export {
  appendAttempt,
  type AttemptHistory,
  attemptsInEpoch,
  claimJob,
  type ClaimRequest,
  type ClaimResult,
} from './store/claim-job.js';
export {
  acquirePublishLease,
  clearEventPending,
  markEventPublished,
  markOrchestrationDone,
  type MarkDoneResult,
  publishBackoffMs,
  type PublishLease,
  recordPublishFailure,
} from './store/completion-marker.js';
export { cancelJob } from './store/cancel-job.js';
export { readCounts, readShardTotals, type ShardTotals, sumShards, sumTaskMillis } from './store/counts.js';
export { failPendingJob } from './store/fail-pending-job.js';
export {
  completeJob,
  failJob,
  type FailureOutcome,
  type FinishOutcome,
  type OwnedJob,
  releaseJob,
} from './store/finish-job.js';
export {
  type ActivityOutcome,
  recordHeartbeat,
  recordProgress,
  type RunningJob,
  saveCheckpoint,
} from './store/job-activity.js';
export { boundJobError, truncateUtf8 } from './store/bounded-text.js';
export { findOrchestration, loadJob, loadJobByIndex, loadOrchestration } from './store/orchestration-docs.js';
export {
  type NewOrchestration,
  createOrchestrationDoc,
  registerOrchestration,
  type RegistrationInput,
  type RegistrationResult,
  shardCountFor,
} from './store/register-orchestration.js';
export { readOrchestrationTraceparent } from './store/orchestration-trace.js';
export { recoverStaleJob, type RecoveryOutcome } from './store/recover-job.js';
export { addSensitiveKeys } from './store/sensitive-keys.js';
export { discardJob, openEpoch, reopenJob, type ReopenOutcome } from './store/reopen-job.js';
export { createStore, now, type Store, type StoreOptions } from './store/store.js';
export {
  defaultServiceName,
  type ServiceNameMapping,
  serviceNameFor,
  validateJobName,
} from './validate/job-name.js';
export {
  buildTaskEnv,
  CloudRunEnvName,
  type CloudRunTask,
  cloudRunTaskEnv,
  parseTaskEnv,
  type TaskEnv,
  TaskEnvName,
  type TaskEnvInput,
  taskEnvSchema,
} from './task/task-contract.js';
export {
  contextFromTraceparent,
  e11Tracer,
  formatTraceparent,
  hasSpan,
  inSpan,
  linkTo,
  parseTraceparent,
  recordSpanError,
  type SpanStart,
  TraceAttribute,
  type TraceCarrier,
  traceCarrierOf,
  traceIdOf,
  TracerScope,
} from './telemetry/trace-context.js';
export { flushTelemetry, type FlushTelemetryOptions } from './telemetry/flush.js';
export {
  type AttemptStatus,
  DURATION_BUCKETS_S,
  type EndedStatus,
  type JobPoint,
  MetricAttribute,
  MetricName,
  type MeterScope,
  metricsRecorded,
  recordAttemptDuration,
  recordEventLatency,
  recordJobsEnded,
  recordJobStarted,
  recordLaunchLatency,
  recordQueueWait,
  regionFromEnv,
} from './telemetry/metrics.js';
export { firestoreValueSize, type ParamsLimits, validateParamsList } from './validate/params.js';
export { validateTags } from './validate/tags.js';
export { splitHost } from './clients/firestore.js';
export { updateIdempotent } from './store/store.js';
export { sweeperStateDocSchema } from './model/documents.js';
export { crashedError } from './store/claim-job.js';
export {
  unwrittenJobDoc,
  isUnwrittenJob,
  readUnwrittenJobs,
  type UnwrittenJob,
  unwrittenJobsByIndex,
} from './store/unwritten-jobs.js';
export { isVisible } from './store/orchestration-docs.js';
export { assertOrchestrationId, assertJobId, assertJobIds } from './validate/document-id.js';
export { stillReopenable } from './store/reopen-job.js';
export { idempotentOrchestrationId } from './internal/ids.js';
export {
  markLaunchCompleted,
  markLaunchStarted,
  markRelaunched,
  recordArrayExecution,
  recordJobExecution,
  recordLaunchHeartbeat,
} from './store/launch-records.js';
export { requestCancel } from './store/request-cancel.js';
export { type JobVersion, type KnownVersion } from './store/job-version.js';
export {
  definePipeline,
  loadPipelinesModule,
  type PipelineDefinition,
  PipelineRegistry,
  type PipelineSpec,
  type PipelineStage,
  type PreviousStage,
  type StageFailureMode,
  type StageInput,
  type StageKickOffOptions,
} from './pipelines/definition.js';
export { type PipelineCompletedEvent, parsePipelineCompletedEvent } from './pipelines/pipeline-event.js';
export {
  PIPELINE_STATUSES,
  pipelineDocSchema,
  type PipelineEndReason,
  type PipelineStatus,
  type StageStatus,
} from './pipelines/pipeline-store.js';
