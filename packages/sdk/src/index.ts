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
// What a backend handles of the engine (@e11/core/engine): launchers and clients, the kick-off's
// options and results, the read views, the sweep's report and the schedule tick.
export {
  CloudRunTaskService,
  type CloudRunTaskServiceOptions,
  createExecutionsClient,
  createJobsClient,
  createPubSub,
  CronSchedule,
  type ExecutionState,
  type JobClassReference,
  type JobFailure,
  type JobInfo,
  type JobReference,
  type JobResults,
  type JobSuccess,
  type KickOffOptions,
  type KickOffResult,
  type LaunchReport,
  type LaunchRequest,
  type LaunchResult,
  LocalProcessLauncher,
  type LocalProcessLauncherOptions,
  type OrchestrationInfo,
  type OrchestrationServiceOptions,
  type OverlapPolicy,
  type ParamsFactories,
  type ParamsFactory,
  type ParamsOf,
  type RetentionOptions,
  type RetentionReport,
  type RunOutcome,
  type RunTrigger,
  runScheduleTick,
  SCHEDULE_TAG,
  type ScheduleDefinition,
  type ScheduleDoc,
  scheduleIdempotencyKey,
  type ScheduleKickOffOptions,
  type ScheduleRunDoc,
  type ScheduleService,
  type ScheduleTickDeps,
  type SweepOptions,
  type SweepReport,
  type TaskLauncher,
  type TickOptions,
  type TickResult,
  validateScheduleName,
  validateTimeZone,
} from '@e11/core/engine';
export { OrchestrationService } from './orchestration/orchestration-service.js';
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
export {
  type LocalScheduler,
  type LocalSchedulerOptions,
  startLocalScheduler,
} from './schedules/local-scheduler.js';
export { type ScheduleInfo, type ScheduleRunInfo } from './schedules/schedule-views.js';
export { Schedules, type SchedulesOptions } from './schedules/schedules.js';
