// @e11/runner/testing — run a job class in-process, with the runner's own attempt loop and job
// context and its writes kept in memory, for unit tests of job classes without emulators.
export type { RecordedAttempt, RecordedProgress } from './memory-job-writes.js';
export {
  type InProcessRun,
  type RecordedLog,
  runJobInProcess,
  type RunJobInProcessOptions,
} from './run-job-in-process.js';
