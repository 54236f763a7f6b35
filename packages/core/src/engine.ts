// @e11/core/engine — the backend engine of E11 Jobs: kick-off, launch (Cloud Run or local processes,
// rate limited), cancel/retry/discard, the sweep, retention and the schedule tick. The sdk's
// OrchestrationService and the Cloud Functions build on it. It loads the Cloud Run and Pub/Sub clients,
// so it is a separate entry: the root `@e11/core` (the runner's) stays lean.
export { createEngine, Engine, type EngineOptions } from './orchestration/engine.js';
export {
  type CompiledServiceOptions,
  compileServiceOptions,
  type ServiceEnv,
} from './orchestration/compile-service-options.js';
export { type AdmitReport } from './orchestration/admit.js';
export { type KickOffResult } from './orchestration/kick-off.js';
export { type KickOffEstimate } from './orchestration/estimate.js';
export { type OrchestrationCost } from './cost/pricing.js';
export { createExecutionsClient, createJobsClient } from './clients/cloud-run.js';
export { createPubSub } from './clients/pubsub.js';
export { bindServiceStore, serviceJobDefinitions, serviceStore } from './internal/service-store.js';
export { CloudRunTaskService, type CloudRunTaskServiceOptions } from './launch/cloud-run-task-service.js';
export { LocalProcessLauncher, type LocalProcessLauncherOptions } from './launch/local-process-launcher.js';
export { acquireLaunchRateLimiter, launchRateLimiterKey } from './launch/rate-limiter.js';
export {
  type ExecutionState,
  type LaunchRequest,
  type LaunchResult,
  type TaskLauncher,
} from './launch/task-launcher.js';
export { type SweepOptions, type SweepReport } from './maintenance/sweeper.js';
export { type QuietRecheck, quietRecheck } from './monitoring/quiet-recheck.js';
export {
  deleteOrchestrationsOlderThan,
  type RetentionOptions,
  type RetentionReport,
} from './monitoring/retention.js';
export { type JobReference } from './orchestration/job-definitions.js';
export { type JobClassReference } from './orchestration/job-handle.js';
export { type LaunchContext, launchJobs, type LaunchReport } from './orchestration/launch-jobs.js';
export { type KickOffOptions, type OrchestrationServiceOptions } from './orchestration/options.js';
export {
  type JobFailure,
  type JobResults,
  type JobSuccess,
  partitionResults,
  readAllJobs,
  waitForAllTerminal,
} from './orchestration/results.js';
export {
  type JobInfo,
  type OrchestrationInfo,
  toJobInfo,
  toOrchestrationInfo,
  type WaitingContext,
  type WaitingReason,
  waitingReason,
} from './orchestration/views.js';
export { CronSchedule, validateTimeZone } from './schedules/cron.js';
export {
  fireSchedule,
  type ScheduleService,
  type ScheduleTickDeps,
  type TickResult,
} from './schedules/fire-schedule.js';
export { listScheduleRuns, manualRunId } from './schedules/run-store.js';
export { runScheduleTick, scheduleIdempotencyKey, type TickOptions } from './schedules/run-tick.js';
export {
  compileScheduleDefinition,
  type ParamsFactories,
  type ParamsFactory,
  type ScheduleDefinition,
  type ScheduleKickOffOptions,
  validateScheduleName,
} from './schedules/schedule-definition.js';
export {
  type OverlapPolicy,
  type RunOutcome,
  type RunTrigger,
  type ScheduleDoc,
  type ScheduleRunDoc,
} from './schedules/schedule-documents.js';
export { scheduleDocId, scheduleRef } from './schedules/schedule-id.js';
export { readOrchestrationStatuses, SCHEDULE_TAG } from './schedules/schedule-orchestrations.js';
export {
  deleteSchedule,
  listScheduleDocs,
  loadSchedule,
  saveSchedule,
  setScheduleEnabled,
} from './schedules/schedule-store.js';
export { type AdvanceOutcome } from './pipelines/advance-pipeline.js';
export { type StartPipelineOptions, type StartPipelineResult } from './pipelines/pipeline-ops.js';
export {
  assertPipelineId,
  getPipelineInfo,
  listPipelineInfos,
  type PipelineInfo,
  type PipelineStageInfo,
  toPipelineInfo,
} from './pipelines/pipeline-views.js';
export { findPipeline } from './pipelines/pipeline-store.js';
