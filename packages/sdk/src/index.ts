// @e11/sdk — the backend's face, a deliberate list (each name is documented in the README's "Public
// exports"): the service and its options, the launchers, the JobCompletedEvent subscriber, watch and
// SSE, schedules, errors and the public types. Everything else lives in @e11/core (the shared model)
// and @e11/core/engine (the kick-off pipeline, launch, sweep and schedule tick the service wraps).

// The service, its options and what it returns.
export {
  type JobFailure,
  type JobInfo,
  type JobResults,
  type JobSuccess,
  type KickOffEstimate,
  type KickOffOptions,
  type KickOffResult,
  type LaunchReport,
  type OrchestrationInfo,
  type OrchestrationServiceOptions,
  type RetentionOptions,
  type RetentionReport,
  type SweepOptions,
  type SweepReport,
} from '@e11/core/engine';
export { OrchestrationService } from './orchestration/orchestration-service.js';

// Job handles: one declaration of a job's name, params, result and schema, shared with the container.
export { defineJob, type JobClassReference, type JobHandle, type ParamsOf, type ResultOf } from '@e11/core';
export { type DeadLetter, type DeadLetterOptions } from './monitoring/dead-letters.js';
export { type ListOrchestrationsOptions, type OrchestrationPage } from './monitoring/list-orchestrations.js';
export { type MetricsOptions, type MetricsReport } from './monitoring/metrics.js';

// Launchers: Cloud Run in production, local processes on a laptop, or your own TaskLauncher.
export {
  CloudRunTaskService,
  type CloudRunTaskServiceOptions,
  type ExecutionState,
  type LaunchRequest,
  type LaunchResult,
  LocalProcessLauncher,
  type LocalProcessLauncherOptions,
  type TaskLauncher,
} from '@e11/core/engine';

// The JobCompletedEvent and its subscriber.
export { type JobCompletedEvent, parseJobCompletedEvent } from '@e11/core';
export {
  type JobCompletedFilter,
  type JobCompletedHandler,
  type JobCompletedMessage,
  type JobCompletedSubscription,
  subscribeToJobCompleted,
  type SubscribeToJobCompletedOptions,
  subscribeToPipelineCompleted,
} from './events/subscribe.js';

// Watching: rxjs Observables and Server-Sent Events.
export { type JobTransition } from './monitoring/job-changes.js';
export { type JobEvent, type ProgressEvent } from './monitoring/sse-events.js';
export { createSseHandler, type SseHandler, type SseHandlerOptions } from './monitoring/sse-handler.js';
export { type AuthorizeOrchestration, authorizeByTag } from './monitoring/sse-request.js';
export { type WatchJobsOptions } from './monitoring/watch-jobs.js';
export { type CompleteOn, type WatchOptions } from './monitoring/watch-orchestration.js';

// Pipelines: stages chained by completion, started with service.startPipeline().
export {
  definePipeline,
  type PipelineCompletedEvent,
  type PipelineDefinition,
  parsePipelineCompletedEvent,
  type StageInput,
} from '@e11/core';
export { type PipelineInfo, type StartPipelineOptions } from '@e11/core/engine';

// Schedules.
export { type ParamsFactories, type ParamsFactory, type ScheduleDefinition } from '@e11/core/engine';
export {
  type LocalScheduler,
  type LocalSchedulerOptions,
  startLocalScheduler,
} from './schedules/local-scheduler.js';
export { type ScheduleInfo, type ScheduleRunInfo } from './schedules/schedule-views.js';
export { Schedules, type SchedulesOptions } from './schedules/schedules.js';

// Errors, statuses and shared types.
export {
  type Duration,
  E11Error,
  ErrorCode,
  isE11Error,
  type JobParams,
  JobStatus,
  type JsonValue,
  type OrchestrationStatus,
  REDACTED,
  type StatusCounts,
} from '@e11/core';
