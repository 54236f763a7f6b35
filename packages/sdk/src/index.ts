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
export { createExecutionsClient, createJobsClient } from '@e11/core/engine';
export { createPubSub } from '@e11/core/engine';
export { CloudRunTaskService, type CloudRunTaskServiceOptions } from '@e11/core/engine';
export { LocalProcessLauncher, type LocalProcessLauncherOptions } from '@e11/core/engine';
export type { ExecutionState, LaunchRequest, LaunchResult, TaskLauncher } from '@e11/core/engine';
export { sweep, type SweepContext, type SweepOptions, type SweepReport } from '@e11/core/engine';
export { cancelOrchestration, discardJobs, type OpsContext, retryFailedJobs } from '@e11/core/engine';
export {
  acquireLaunchRateLimiter,
  LaunchRateLimiter,
  type LaunchRateLimiterLease,
  launchRateLimiterKey,
} from '@e11/core/engine';
export { type LaunchContext, type LaunchPlan, type LaunchReport, launchJobs } from '@e11/core/engine';
export {
  compileKickOffOptions,
  type CompiledKickOffOptions,
  type KickOffOptions,
  type OrchestrationServiceOptions,
} from '@e11/core/engine';
export {
  type DeclaredJob,
  type JobClassReference,
  type JobReference,
  type ParamsOf,
  readJobDeclaration,
} from '@e11/core/engine';
export { type KickOffResult } from '@e11/core/engine';
export { OrchestrationService } from './orchestration/orchestration-service.js';
export { type JobFailure, type JobResults, type JobSuccess, partitionResults } from '@e11/core/engine';
export { type JobInfo, type OrchestrationInfo, toJobInfo, toOrchestrationInfo } from '@e11/core/engine';
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
export { deleteOrchestrationsOlderThan, type RetentionOptions, type RetentionReport } from '@e11/core/engine';
export { formatEventId, parseEventId } from './monitoring/sse-event-id.js';
export {
  type JobEvent,
  type ProgressEvent,
  type SseEventName,
  toJobEvent,
  toProgressEvent,
} from './monitoring/sse-events.js';
export {
  type AuthorizeOrchestration,
  authorizeByTag,
  createSseHandler,
  type MonitoredService,
  orchestrationIdFromPath,
  type SseHandler,
  type SseHandlerOptions,
} from './monitoring/sse-handler.js';
export { watchJobs, type WatchJobsOptions } from './monitoring/watch-jobs.js';
export {
  compileWatchOptions,
  type CompleteOn,
  watchOrchestration,
  type WatchOptions,
} from './monitoring/watch-orchestration.js';
export { hasEnded } from '@e11/core';
export { type DashboardFailure } from './dashboard/api-routes.js';
export {
  createDashboardServer,
  type DashboardOptions,
  type DashboardServer,
} from './dashboard/dashboard-server.js';
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
export { scheduleDocId } from '@e11/core/engine';
export { CronSchedule, validateTimeZone } from '@e11/core/engine';
export {
  type FireRequest,
  fireSchedule,
  type ScheduleService,
  type ScheduleTickDeps,
  type TickResult,
} from '@e11/core/engine';
export {
  type LocalScheduler,
  type LocalSchedulerOptions,
  startLocalScheduler,
} from './schedules/local-scheduler.js';
export { dueFireTime, runScheduleTick, scheduleIdempotencyKey, type TickOptions } from '@e11/core/engine';
export {
  compileScheduleDefinition,
  type CompiledSchedule,
  type ParamsFactories,
  type ParamsFactory,
  type ScheduleDefinition,
  type ScheduleKickOffOptions,
  validateScheduleName,
} from '@e11/core/engine';
export {
  type OverlapPolicy,
  type RunOutcome,
  type RunTrigger,
  type ScheduleDoc,
  scheduleDocSchema,
  type ScheduleRunDoc,
  scheduleRunDocSchema,
} from '@e11/core/engine';
export { type ScheduleInfo, type ScheduleRunInfo } from './schedules/schedule-views.js';
export { Schedules, type SchedulesOptions } from './schedules/schedules.js';
export { findActiveScheduleOrchestrations, readOrchestrationStatuses, SCHEDULE_TAG } from '@e11/core/engine';
export { type Launching, launchingSchema } from '@e11/core/engine';
