import type { Precondition, Transaction, WriteBatch } from '@google-cloud/firestore';

import { GrpcStatus, grpcCodeOf } from '../internal/grpc-errors.js';

import { type JobDoc, type JobErrorInfo, type AttemptRecord } from '../model/documents.js';
import { parseJobDocument } from '../model/parse.js';
import { JobStatus } from '../model/status.js';

import { openAttemptMillis } from './attempt-time.js';
import { boundJobError } from './bounded-text.js';
import { appendAttempt, closeAttempt, openAttempt } from './claim-job.js';
import { type JobVersion, keepVersion, takeVersion } from './job-version.js';
import { now, type Store } from './store.js';
import { addTaskMillis, transition } from './transition.js';

/** Identifies the claim a finishing task holds. */
export interface OwnedJob {
  orchestrationId: string;
  jobId: string;
  claimId: string;
  /** What the task knows of its job's document (job-version.ts): a write that matches it reads nothing. */
  version?: JobVersion;
  /** The W3C traceparent of the attempt span that ends the job, written with the end (see `JobDoc.traceparent`). */
  traceparent?: string | null;
}

/** The end's `traceparent` field, when the task has one to write. */
function tracePatch(owned: OwnedJob): { traceparent?: string } {
  return owned.traceparent ? { traceparent: owned.traceparent } : {};
}

/** `recorded`: the write happened. `lost`: the task no longer owns the job (cancelled, taken over, ended). */
export type FinishOutcome = 'recorded' | 'lost';

/**
 * A job write of a task that must own the job (InProgress under its claim). With a known version
 * (job-version.ts) it is one batch whose job update has that version's update time as precondition: no
 * read. Otherwise, or when the precondition fails, a transaction reads the job and decides. `write`
 * may return the job as it wrote it, to keep as the next known version (only the batch path knows the
 * new update time).
 */
async function whileOwned(
  store: Store,
  owned: OwnedJob,
  write: (writer: Transaction | WriteBatch, job: JobDoc, precondition?: Precondition) => JobDoc | void,
  wrote: (job: JobDoc) => boolean = endedUnderClaim(owned),
): Promise<FinishOutcome> {
  const ref = store.collections.job(owned.orchestrationId, owned.jobId);
  const known = takeVersion(owned);
  if (known && known.job.status === JobStatus.InProgress && known.job.claim?.id === owned.claimId) {
    const batch = store.firestore.batch();
    const after = write(batch, known.job, { lastUpdateTime: known.updateTime });
    try {
      const [jobWrite] = await batch.commit();
      if (after && jobWrite) keepVersion(owned, after, jobWrite.writeTime);
      return 'recorded';
    } catch (error) {
      if (grpcCodeOf(error) !== GrpcStatus.FAILED_PRECONDITION) throw error;
    }
  }
  return store.firestore.runTransaction(async (tx) => {
    const snapshot = await tx.get(ref);
    if (!snapshot.exists) return 'lost';
    const job = parseJobDocument(snapshot);
    // A retried write whose first commit went through (the answer was lost: UNKNOWN, CANCELLED) is
    // already recorded; writing it again would, for an in-task retry, open one attempt too many.
    if (wrote(job)) return 'recorded';
    if (job.status !== JobStatus.InProgress || job.claim?.id !== owned.claimId) return 'lost';
    write(tx, job);
    return 'recorded';
  });
}

/** Whether a final write of this claim is on the document: the job ended Completed or Errored under it. */
function endedUnderClaim(owned: OwnedJob): (job: JobDoc) => boolean {
  return (job) =>
    job.claim?.id === owned.claimId &&
    (job.status === JobStatus.Completed || job.status === JobStatus.Errored);
}

/** Stores the JSON result and moves the job to `Completed`, if the caller still owns it. */
export function completeJob(store: Store, owned: OwnedJob & { result: unknown }): Promise<FinishOutcome> {
  return whileOwned(store, owned, (writer, job, precondition) => {
    const at = now(store);
    const patch = {
      result: owned.result === undefined ? null : owned.result,
      error: null,
      finishedAt: at,
      progress: { ratio: 1, message: job.progress?.message ?? null, at },
      attempts: closeAttempt(job.attempts, 'Completed', at, null),
      ...tracePatch(owned),
    };
    const taskMillis = openAttemptMillis(job.attempts, at);
    transition(store, writer, job, JobStatus.Completed, patch, precondition, taskMillis);
  });
}

/** How a failed attempt ended. */
export type FailureOutcome = Extract<
  AttemptRecord['outcome'],
  'Errored' | 'TimedOut' | 'Interrupted' | 'Crashed'
>;

/**
 * Records a failed attempt. With `final: true` the job becomes `Errored` (and `deadLettered` when its
 * retries are exhausted); otherwise it stays `InProgress` under the same claim and the next attempt is
 * opened (in-task retry), with `attempt` + 1 visible on the document.
 */
export function failJob(
  store: Store,
  owned: OwnedJob & {
    error: JobErrorInfo;
    outcome: FailureOutcome;
    final: boolean;
    deadLettered: boolean;
    executionName?: string | null;
  },
): Promise<FinishOutcome> {
  return whileOwned(
    store,
    owned,
    (writer, job, precondition) => {
      const at = now(store);
      const history = closeAttempt(job.attempts, owned.outcome, at, {
        message: owned.error.message,
        code: owned.error.code,
      });
      const error = boundJobError(owned.error);
      const taskMillis = openAttemptMillis(job.attempts, at);
      if (owned.final) {
        const patch = {
          error,
          deadLettered: owned.deadLettered,
          finishedAt: at,
          attempts: history,
          ...tracePatch(owned),
        };
        transition(store, writer, job, JobStatus.Errored, patch, precondition, taskMillis);
        return;
      }
      const attempt = job.attempt + 1;
      const next = openAttempt(job, attempt, at, owned.executionName ?? job.claim?.executionName ?? null);
      const patch = {
        attempt,
        ...appendAttempt(job, history, next),
        error,
        heartbeatAt: at,
        updatedAt: at,
        ...tracePatch(owned),
      };
      const ref = store.collections.job(job.orchestrationId, job.id);
      // Transaction and WriteBatch share update(); TypeScript cannot call a union's overloads.
      const update = writer as WriteBatch;
      if (precondition) update.update(ref, patch, precondition);
      else update.update(ref, patch);
      addTaskMillis(store, writer, job, taskMillis);
      return { ...job, ...patch };
    },
    owned.final ? undefined : openedAfter(owned, owned.error.attempt),
  );
}

/**
 * Whether an in-task retry's write is on the document: the job is still this claim's and its attempt
 * is past the one that failed (`failed`, the attempt the error names). Attempt numbers only grow, and
 * each is claimed once, so nobody else can have opened the next one under this claim.
 */
function openedAfter(owned: OwnedJob, failed: number): (job: JobDoc) => boolean {
  return (job) =>
    job.status === JobStatus.InProgress && job.claim?.id === owned.claimId && job.attempt > failed;
}

/**
 * Gives a job back after an interrupted attempt (SIGTERM, lost container) that may be retried: the
 * attempt is closed with `outcome`, the claim is dropped and the job returns to `Pending`, so Cloud
 * Run's own task retry can claim it at once, or the sweeper relaunches it.
 */
export function releaseJob(
  store: Store,
  owned: OwnedJob & { error: JobErrorInfo; outcome: FailureOutcome },
): Promise<FinishOutcome> {
  return whileOwned(
    store,
    owned,
    (writer, job, precondition) => {
      const at = now(store);
      const patch = {
        error: boundJobError(owned.error),
        claim: null,
        heartbeatAt: null,
        attempts: closeAttempt(job.attempts, owned.outcome, at, {
          message: owned.error.message,
          code: owned.error.code,
        }),
        ...tracePatch(owned),
      };
      const taskMillis = openAttemptMillis(job.attempts, at);
      transition(store, writer, job, JobStatus.Pending, patch, precondition, taskMillis);
    },
    releasedAt(owned.error.attempt),
  );
}

/**
 * Whether a release is on the document: the job is Pending, unclaimed, at the attempt that was given
 * back (`released`, the attempt the error names) and that attempt's record is closed. Only the claim
 * that ran an attempt can close it, and a later claim would have raised the attempt.
 */
function releasedAt(released: number): (job: JobDoc) => boolean {
  return (job) =>
    job.status === JobStatus.Pending &&
    job.claim === null &&
    job.attempt === released &&
    job.attempts.at(-1)?.attempt === released &&
    job.attempts.at(-1)?.finishedAt !== null;
}
