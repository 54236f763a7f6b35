import { DEFAULTS } from '../defaults.js';
import { type JobDoc, orchestrationDocSchema } from '../model/documents.js';
import { parseDocument, parseJobDocument } from '../model/parse.js';
import { isTerminal, JobStatus } from '../model/status.js';

import { now, type Store } from './store.js';
import { transition } from './transition.js';

/** What {@link reopenJob} and {@link openEpoch} did with a job. */
export type ReopenOutcome =
  /** The job is `Pending` in the epoch asked for. */
  | 'reopened'
  /** The job is not failed or cancelled (any more), or was discarded, or is gone: nothing to do. */
  | 'unchanged'
  /** The epoch asked for is not the orchestration's open epoch (another retry moved on, or it ended). */
  | 'stale';

/** The job's change when it reopens in `epoch`: a fresh attempt and launch budget, error/result cleared. */
function reopenPatch(epoch: number): Record<string, unknown> {
  return {
    epoch,
    launches: 0,
    error: null,
    result: null,
    deadLettered: false,
    claim: null,
    heartbeatAt: null,
    finishedAt: null,
    progress: null,
    executionName: null,
  };
}

function isReopenable(job: JobDoc): boolean {
  return (job.status === JobStatus.Errored || job.status === JobStatus.Cancelled) && !job.discarded;
}

/**
 * The ids among `jobIds` whose job is still reopenable (failed or cancelled, not discarded), read in
 * batches of `DEFAULTS.batchSize`: after a concurrent retryFailed took some, the others are found
 * without a transaction per job taken.
 */
export async function stillReopenable(
  store: Store,
  orchestrationId: string,
  jobIds: readonly string[],
): Promise<Set<string>> {
  const open = new Set<string>();
  for (let start = 0; start < jobIds.length; start += DEFAULTS.batchSize) {
    const refs = jobIds
      .slice(start, start + DEFAULTS.batchSize)
      .map((jobId) => store.collections.job(orchestrationId, jobId));
    const snapshots = refs.length > 0 ? await store.firestore.getAll(...refs) : [];
    for (const snapshot of snapshots) {
      if (snapshot.exists && isReopenable(parseJobDocument(snapshot))) open.add(snapshot.id);
    }
  }
  return open;
}

/**
 * True when the job still ended in the epoch its caller read it in (`failedInEpoch`, when given): a job
 * a concurrent retryFailed reopened, which then failed again, is that call's run, not a second one for
 * this caller.
 */
function failedAsRead(job: JobDoc, input: { failedInEpoch?: number }): boolean {
  return input.failedInEpoch === undefined || job.epoch === input.failedInEpoch;
}

/**
 * Opens a new epoch for retryFailed, in one transaction: the orchestration's epoch + 1, `InProgress`,
 * its launch marked as running again (`launchCompletedAt: null`, a fresh `launchHeartbeatAt`, so the
 * sweeper waits for this caller's launches and takes over if it goes silent), and `jobId` reopened in
 * it. Reopening a job in the same transaction keeps the new epoch from looking complete before its
 * jobs are reopened. Returns the new epoch, or `'unchanged'` when the job is not reopenable (nothing
 * written).
 */
export async function openEpoch(
  store: Store,
  input: { orchestrationId: string; jobId: string; failedInEpoch?: number },
): Promise<{ outcome: 'reopened'; epoch: number } | { outcome: 'unchanged' }> {
  const orchestrationRef = store.collections.orchestration(input.orchestrationId);
  const jobRef = store.collections.job(input.orchestrationId, input.jobId);
  return store.firestore.runTransaction(async (tx) => {
    const [orchestrationSnap, jobSnap] = await tx.getAll(orchestrationRef, jobRef);
    if (!orchestrationSnap?.exists || !jobSnap?.exists) return { outcome: 'unchanged' } as const;
    const orchestration = parseDocument(orchestrationDocSchema, orchestrationSnap);
    const job = parseJobDocument(jobSnap);
    if (!isReopenable(job) || !failedAsRead(job, input)) return { outcome: 'unchanged' } as const;
    const epoch = orchestration.epoch + 1;
    const at = now(store);
    tx.update(orchestrationRef, {
      epoch,
      status: JobStatus.InProgress,
      completedAt: null,
      cancelRequested: false,
      cancelReason: null,
      launchCompletedAt: null,
      launchHeartbeatAt: at,
      updatedAt: at,
    });
    transition(store, tx, job, JobStatus.Pending, reopenPatch(epoch));
    return { outcome: 'reopened', epoch } as const;
  });
}

/**
 * Gives a failed or cancelled job a new run in `epoch` (retryFailed, after {@link openEpoch}):
 * `Errored`/`Cancelled` → `Pending` with its original params, a fresh attempt and launch budget, and
 * error/result cleared (the attempt history keeps what happened before). Only while `epoch` is the
 * orchestration's current, open epoch: a job is never reopened into an epoch that ended (its event is
 * out) or that another retry superseded; the caller then opens a new epoch (`'stale'`).
 */
export async function reopenJob(
  store: Store,
  input: { orchestrationId: string; jobId: string; epoch: number; failedInEpoch?: number },
): Promise<ReopenOutcome> {
  const orchestrationRef = store.collections.orchestration(input.orchestrationId);
  const jobRef = store.collections.job(input.orchestrationId, input.jobId);
  return store.firestore.runTransaction(async (tx) => {
    const [orchestrationSnap, jobSnap] = await tx.getAll(orchestrationRef, jobRef);
    if (!orchestrationSnap?.exists || !jobSnap?.exists) return 'unchanged';
    const orchestration = parseDocument(orchestrationDocSchema, orchestrationSnap);
    const job = parseJobDocument(jobSnap);
    if (!isReopenable(job) || !failedAsRead(job, input)) return 'unchanged';
    if (orchestration.epoch !== input.epoch || isTerminal(orchestration.status)) return 'stale';
    transition(store, tx, job, JobStatus.Pending, reopenPatch(input.epoch));
    return 'reopened';
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
