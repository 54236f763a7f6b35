// @e11/sdk — the backend's face: the services plus the parts of the shared model (@e11/core) a backend
// handles directly (errors, statuses, the event, durations).
export {
  type Duration,
  E11Error,
  type E11ErrorContext,
  ErrorCode,
  type ErrorCodeValue,
  isE11Error,
  type JobCompletedEvent,
  jobCompletedEventSchema,
  type JobParams,
  JobStatus,
  type JsonValue,
  type Logger,
  type OrchestrationStatus,
  parseJobCompletedEvent,
  type StatusCounts,
} from '@e11/core';
export { createExecutionsClient, createJobsClient } from './clients/cloud-run.js';
export { createPubSub } from './clients/pubsub.js';
export { CloudRunTaskService, type CloudRunTaskServiceOptions } from './launch/cloud-run-task-service.js';
export { LocalProcessLauncher, type LocalProcessLauncherOptions } from './launch/local-process-launcher.js';
export type { ExecutionState, LaunchRequest, LaunchResult, TaskLauncher } from './launch/task-launcher.js';
export { sweep, type SweepContext, type SweepOptions, type SweepReport } from './maintenance/sweeper.js';
export {
  cancelOrchestration,
  discardJobs,
  type OpsContext,
  retryFailedJobs,
} from './orchestration/failure-ops.js';
export {
  acquireLaunchRateLimiter,
  LaunchRateLimiter,
  type LaunchRateLimiterLease,
  launchRateLimiterKey,
} from './launch/rate-limiter.js';
export {
  type LaunchContext,
  type LaunchPlan,
  type LaunchReport,
  launchJobs,
} from './orchestration/launch-jobs.js';
export {
  compileKickOffOptions,
  type CompiledKickOffOptions,
  type KickOffOptions,
  type OrchestrationServiceOptions,
} from './orchestration/options.js';
export {
  type DeclaredJob,
  type JobClassReference,
  type JobReference,
  type ParamsOf,
  readJobDeclaration,
} from './orchestration/job-definitions.js';
export { type KickOffResult, OrchestrationService } from './orchestration/orchestration-service.js';
export {
  type JobFailure,
  type JobResults,
  type JobSuccess,
  partitionResults,
} from './orchestration/results.js';
export {
  type JobInfo,
  type OrchestrationInfo,
  toJobInfo,
  toOrchestrationInfo,
} from './orchestration/views.js';
export { type DeadLetter, type DeadLetterOptions, listDeadLetters } from './monitoring/dead-letters.js';
export { decodeCursor, encodeCursor } from './monitoring/history-cursor.js';
export {
  compareTimestamps,
  type JobChangeBatch,
  jobChanges,
  type JobChangesOptions,
  type JobChangesStart,
  type JobTransition,
  type TimedJobTransition,
} from './monitoring/job-changes.js';
export {
  listOrchestrations,
  type ListOrchestrationsOptions,
  type OrchestrationPage,
  withCounts,
} from './monitoring/list-orchestrations.js';
export { activeListenerCount } from './monitoring/listener-registry.js';
export {
  type JobNameMetrics,
  getMetrics,
  type MetricsOptions,
  type MetricsReport,
} from './monitoring/metrics.js';
export { type FeedItem, type FeedOptions, orchestrationFeed } from './monitoring/orchestration-feed.js';
export { type DurationStats, durationStats } from './monitoring/percentiles.js';
export { createRedactor, REDACTED, redactJob, redactParams } from '@e11/core';
export {
  deleteOrchestrationsOlderThan,
  type RetentionOptions,
  type RetentionReport,
} from './monitoring/retention.js';
export { formatEventId, parseEventId } from './monitoring/sse-event-id.js';
export {
  type JobEvent,
  type ProgressEvent,
  type SseEventName,
  toJobEvent,
  toProgressEvent,
} from './monitoring/sse-events.js';
export {
  createSseHandler,
  type MonitoredService,
  type SseHandler,
  type SseHandlerOptions,
} from './monitoring/sse-handler.js';
export {
  type AuthorizeOrchestration,
  authorizeByTag,
  orchestrationIdFromPath,
} from './monitoring/sse-request.js';
export { watchJobs, type WatchJobsOptions } from './monitoring/watch-jobs.js';
export {
  compileWatchOptions,
  type CompleteOn,
  hasEnded,
  watchOrchestration,
  type WatchOptions,
} from './monitoring/watch-orchestration.js';
export {
  type JobCompletedFilter,
  jobCompletedFilterExpression,
  type JobCompletedHandler,
  type JobCompletedMessage,
  type JobCompletedSource,
  type JobCompletedSubscription,
  subscribeToJobCompleted,
  type SubscribeToJobCompletedOptions,
} from './events/subscribe.js';
export {
  type CloudSchedulerOptions,
  CloudSchedulerSync,
  type ScheduleKey,
  type SchedulerJobSpec,
  tickBody,
} from './schedules/cloud-scheduler-sync.js';
export { scheduleDocId } from './schedules/schedule-id.js';
export { CronSchedule, validateTimeZone } from './schedules/cron.js';
export {
  type FireRequest,
  fireSchedule,
  type ScheduleService,
  type ScheduleTickDeps,
  type TickResult,
} from './schedules/fire-schedule.js';
export {
  type LocalScheduler,
  type LocalSchedulerOptions,
  startLocalScheduler,
} from './schedules/local-scheduler.js';
export {
  dueFireTime,
  runScheduleTick,
  scheduleIdempotencyKey,
  type TickOptions,
} from './schedules/run-tick.js';
export {
  compileScheduleDefinition,
  type CompiledSchedule,
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
  scheduleDocSchema,
  type ScheduleRunDoc,
  scheduleRunDocSchema,
} from './schedules/schedule-documents.js';
export { type ScheduleInfo, type ScheduleRunInfo } from './schedules/schedule-views.js';
export { Schedules, type SchedulesOptions } from './schedules/schedules.js';
export {
  findActiveScheduleOrchestrations,
  readOrchestrationStatuses,
  SCHEDULE_TAG,
} from './schedules/schedule-orchestrations.js';
export { type Launching, launchingSchema } from './schedules/schedule-documents.js';
