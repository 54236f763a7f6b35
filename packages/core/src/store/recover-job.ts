import { parseJobDocument } from '../model/parse.js';
import { JobStatus } from '../model/status.js';
import { recordJobsEnded } from '../telemetry/metrics.js';

import { deadAttemptEnd, openAttemptMillis } from './attempt-time.js';
import { attemptsInEpoch, closeAttempt, crashedError } from './claim-job.js';
import { now, type Store } from './store.js';
import { transition } from './transition.js';

/** What {@link recoverStaleJob} did. */
export type RecoveryOutcome = 'alive' | 'requeued' | 'dead-lettered' | 'gone';

/**
 * Handles a job whose task died without reporting (its heartbeat is older than `heartbeatTimeoutMs`):
 * the open attempt is closed as `Crashed`; with attempts left the job returns to `Pending` (to be
 * relaunched), otherwise it ends `Errored` with `deadLettered: true` and an `E11_CRASHED` error.
 * A job that heartbeated meanwhile, or is no longer `InProgress`, is left alone.
 */
export async function recoverStaleJob(
  store: Store,
  input: { orchestrationId: string; jobId: string; heartbeatTimeoutMs: number; defaultMaxAttempts: number },
): Promise<RecoveryOutcome> {
  const ref = store.collections.job(input.orchestrationId, input.jobId);
  let jobName = '';
  const outcome = await store.firestore.runTransaction<RecoveryOutcome>(async (tx) => {
    const snapshot = await tx.get(ref);
    if (!snapshot.exists) return 'gone';
    const job = parseJobDocument(snapshot);
    jobName = job.jobName;
    const at = now(store);
    const heartbeat = job.heartbeatAt?.toMillis() ?? 0;
    if (job.status !== JobStatus.InProgress || at.toMillis() - heartbeat <= input.heartbeatTimeoutMs)
      return 'alive';
    const error = crashedError(
      job,
      `The task stopped sending heartbeats ${Math.round((at.toMillis() - heartbeat) / 1000)} s ago (container crashed or was reclaimed).`,
    );
    // The attempt ends at its last heartbeat, and that much task time is counted (attempt-time.ts).
    const end = deadAttemptEnd(job, at);
    const attempts = closeAttempt(job.attempts, 'Crashed', end, { message: error.message, code: error.code });
    const taskMillis = openAttemptMillis(job.attempts, end);
    if (attemptsInEpoch(job) >= (job.maxAttempts ?? input.defaultMaxAttempts)) {
      const patch = { error, attempts, deadLettered: true, finishedAt: at, claim: null };
      transition(store, tx, job, JobStatus.Errored, patch, undefined, taskMillis);
      return 'dead-lettered';
    }
    const patch = { error, attempts, claim: null, heartbeatAt: null };
    transition(store, tx, job, JobStatus.Pending, patch, undefined, taskMillis);
    return 'requeued';
  });
  if (outcome === 'dead-lettered') {
    recordJobsEnded('@e11/core', { jobName, status: 'Errored', deadLettered: true });
  }
  return outcome;
}
