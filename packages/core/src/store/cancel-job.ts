import { DEFAULTS } from '../defaults.js';
import { type JobDoc, type JobErrorInfo } from '../model/documents.js';
import { isTerminal, JobStatus } from '../model/status.js';
import { recordJobsEnded } from '../telemetry/metrics.js';

import { openAttemptMillis, outsideAttemptEnd } from './attempt-time.js';
import { closeAttempt } from './claim-job.js';
import { now, type Store } from './store.js';
import { transition } from './transition.js';
import { runJobTransaction } from './unwritten-jobs.js';

/**
 * Cancels one unfinished job: `Pending`/`InProgress` → `Cancelled` with `error` (why), closing an open
 * attempt. A running task notices at its next fenced write (or by the SIGTERM of its cancelled
 * execution) and stops. Returns the job as it was before, or undefined when it was already terminal or
 * does not exist.
 */
export async function cancelJob(
  store: Store,
  input: {
    orchestrationId: string;
    jobId: string;
    error: Omit<JobErrorInfo, 'attempt' | 'jobId'>;
    /** The job as the caller listed it (a job with no document yet is then not read again). */
    known?: JobDoc;
  },
): Promise<JobDoc | undefined> {
  const before = await runJobTransaction(store, input, (tx, job) => {
    if (!job || isTerminal(job.status)) return undefined;
    const at = now(store);
    const error: JobErrorInfo = { ...input.error, jobId: job.id, attempt: job.attempt };
    // An open attempt ends now, or at its last heartbeat if its task was already dead (attempt-time.ts).
    const end = outsideAttemptEnd(job, at, DEFAULTS.heartbeatTimeoutMs);
    const attempts = closeAttempt(job.attempts, 'Cancelled', end, {
      message: error.message,
      code: error.code,
    });
    const patch = { error, finishedAt: at, attempts };
    transition(store, tx, job, JobStatus.Cancelled, patch, undefined, openAttemptMillis(job.attempts, end));
    return job;
  });
  if (before) recordJobsEnded('@e11/core', { jobName: before.jobName, status: 'Cancelled' });
  return before;
}
