import { FieldValue, type Precondition, type Transaction, type WriteBatch } from '@google-cloud/firestore';

import { countField, isTerminal, type JobStatus } from '../model/status.js';

import { now, type Store } from './store.js';
import { unwrittenJobDoc, isUnwrittenJob, type UnwrittenJob } from './unwritten-jobs.js';

/** A job's identity plus the two fields a transition needs. */
export interface TransitionTarget {
  orchestrationId: string;
  id: string;
  shard: number;
  status: JobStatus;
  /** With a concurrency key or an executions-in-flight budget: the job's index, to free its slots when it ends. */
  index?: number;
  concurrencyKey?: string | null;
  inFlightBudget?: string | null;
}

/**
 * Moves one job from its current status to `to` and moves its count between the two status fields of
 * its counter shard (and adds `taskMillis`, the attempt it closes, to the shard's task time) — in the same transaction or batch, so counts are exact by construction and every
 * job write stays O(1) (design.md: no hot spot, no N² reads). An unwritten job (no document yet) gets its
 * document created, so a racing first write of the same job fails instead of being overwritten. A
 * `precondition` (a known update time, see job-version.ts) fences the update of a stored job.
 */
export function transition(
  store: Store,
  writer: Transaction | WriteBatch,
  job: TransitionTarget | UnwrittenJob,
  to: JobStatus,
  patch: Record<string, unknown> = {},
  precondition?: Precondition,
  /** Milliseconds of an attempt this write closes, added to the shard's `taskMillis` (attempt-time.ts). */
  taskMillis = 0,
): void {
  const { collections } = store;
  const jobRef = collections.job(job.orchestrationId, job.id);
  // Transaction and WriteBatch share these two methods; TypeScript cannot call a union's overloads.
  const write = writer as WriteBatch;
  if (isUnwrittenJob(job))
    write.create(jobRef, { ...unwrittenJobDoc(job), ...patch, status: to, updatedAt: now(store) });
  else if (precondition) write.update(jobRef, { ...patch, status: to, updatedAt: now(store) }, precondition);
  else write.update(jobRef, { ...patch, status: to, updatedAt: now(store) });
  // An admitted job of a concurrency key holds a slot until it ends (a delete of a slot it never took
  // does nothing); same write, so the slot is freed exactly when the job is counted as ended.
  if (job.concurrencyKey && job.index !== undefined && isTerminal(to) && !isTerminal(job.status)) {
    write.delete(collections.concurrencySlot(job.concurrencyKey, job.orchestrationId, job.index));
  }
  if (job.inFlightBudget && job.index !== undefined && isTerminal(to) && !isTerminal(job.status)) {
    write.delete(collections.inFlightSlot(job.inFlightBudget, job.orchestrationId, job.index));
  }
  if (job.status !== to || taskMillis > 0) {
    write.set(
      collections.counter(job.orchestrationId, job.shard),
      {
        ...(job.status === to
          ? {}
          : {
              [countField(job.status)]: FieldValue.increment(-1),
              [countField(to)]: FieldValue.increment(1),
            }),
        ...(taskMillis > 0 ? { taskMillis: FieldValue.increment(taskMillis) } : {}),
      },
      { merge: true },
    );
  }
}

/**
 * Adds an attempt's milliseconds to its job's counter shard, for a write that closes an attempt
 * without a transition (an in-task retry): the shard is the job's, as for its counts.
 */
export function addTaskMillis(
  store: Store,
  writer: Transaction | WriteBatch,
  job: Pick<TransitionTarget, 'orchestrationId' | 'shard'>,
  taskMillis: number,
): void {
  if (taskMillis <= 0) return;
  (writer as WriteBatch).set(
    store.collections.counter(job.orchestrationId, job.shard),
    { taskMillis: FieldValue.increment(taskMillis) },
    { merge: true },
  );
}
