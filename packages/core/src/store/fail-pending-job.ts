import { type JobDoc, type JobErrorInfo } from '../model/documents.js';
import { JobStatus } from '../model/status.js';
import { recordJobsEnded } from '../telemetry/metrics.js';

import { now, type Store } from './store.js';
import { transition } from './transition.js';
import { runJobTransaction } from './unwritten-jobs.js';

/**
 * Ends a job that never started (its launch failed permanently, or the orchestration timed out before
 * it ran): `Pending` → `Errored` with `error`. A job that a task has meanwhile claimed is left alone.
 * Returns whether the job was changed.
 */
export async function failPendingJob(
  store: Store,
  job: {
    orchestrationId: string;
    jobId: string;
    error: JobErrorInfo;
    deadLettered?: boolean;
    /** The job as the caller has it, if it has no document yet (saves reading its params chunk). */
    known?: JobDoc;
  },
): Promise<boolean> {
  let jobName: string | undefined;
  const ended = await runJobTransaction(store, job, (tx, current) => {
    if (current?.status !== JobStatus.Pending) return false;
    transition(store, tx, current, JobStatus.Errored, {
      error: job.error,
      deadLettered: job.deadLettered ?? false,
      finishedAt: now(store),
    });
    jobName = current.jobName;
    return true;
  });
  const deadLettered = job.deadLettered ?? false;
  if (ended && jobName) recordJobsEnded('@e11/core', { jobName, status: 'Errored', deadLettered });
  return ended;
}
