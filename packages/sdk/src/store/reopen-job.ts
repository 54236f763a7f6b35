import { parseJobDocument } from '../model/parse.js';
import { JobStatus } from '../model/status.js';

import { now, type Store } from './store.js';
import { transition } from './transition.js';

/**
 * Gives a failed or cancelled job a new run in `epoch` (retryFailed): `Errored`/`Cancelled` →
 * `Pending` with its original params, a fresh attempt budget, and error/result cleared (the attempt
 * history keeps what happened before). Discarded jobs stay failed. Returns whether it was reopened.
 */
export async function reopenJob(
  store: Store,
  input: { orchestrationId: string; jobId: string; epoch: number },
): Promise<boolean> {
  const ref = store.collections.job(input.orchestrationId, input.jobId);
  return store.firestore.runTransaction(async (tx) => {
    const snapshot = await tx.get(ref);
    if (!snapshot.exists) return false;
    const job = parseJobDocument(snapshot);
    if ((job.status !== JobStatus.Errored && job.status !== JobStatus.Cancelled) || job.discarded)
      return false;
    transition(store, tx, job, JobStatus.Pending, {
      epoch: input.epoch,
      error: null,
      result: null,
      deadLettered: false,
      claim: null,
      heartbeatAt: null,
      finishedAt: null,
      progress: null,
      executionName: null,
    });
    return true;
  });
}

/**
 * Marks a failed job as permanently failed (`discarded`): it stays `Errored`, leaves the dead-letter
 * list and is never reopened by retryFailed. Returns whether it changed.
 */
export async function discardJob(
  store: Store,
  input: { orchestrationId: string; jobId: string },
): Promise<boolean> {
  const ref = store.collections.job(input.orchestrationId, input.jobId);
  return store.firestore.runTransaction(async (tx) => {
    const snapshot = await tx.get(ref);
    if (!snapshot.exists) return false;
    const job = parseJobDocument(snapshot);
    if (job.status !== JobStatus.Errored || job.discarded) return false;
    tx.update(ref, { discarded: true, updatedAt: now(store) });
    return true;
  });
}
