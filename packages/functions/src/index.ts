// @e11/functions — Functions Framework entry points, without side effects. `main.ts` registers them
// with the Functions Framework (the package's `main`); importers get the handlers from here.
import { createJobWrittenHandler, type JobWrittenHandler } from './on-job-written.js';

export { documentEventDataType } from './document-event-data.js';
export { createJobWrittenHandler, type JobWrittenDeps, type JobWrittenHandler } from './on-job-written.js';

let defaultHandler: JobWrittenHandler | undefined;

/**
 * The Firestore-triggered CloudEvent function (`google.cloud.firestore.document.v1.written` on
 * `{prefix}orchestrations/{orchestrationId}/jobs/{jobId}`; it accepts every document.v1 type): completion
 * detection and the exactly-once JobCompletedEvent. {@link createJobWrittenHandler} with production defaults, created on first call.
 */
export function onJobWritten(...args: Parameters<JobWrittenHandler>): Promise<void> {
  defaultHandler ??= createJobWrittenHandler();
  return defaultHandler(...args);
}
export {
  createSchedulerTickHandler,
  SCHEDULE_TIME_HEADER,
  type SchedulerTickDeps,
  type SchedulerTickHandler,
} from './scheduler-tick.js';
export { createSweepHandler, type SweepDeps, type SweepHandler } from './sweep.js';
