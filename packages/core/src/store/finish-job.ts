import type { Transaction } from '@google-cloud/firestore';

import { type JobDoc, type JobErrorInfo, type AttemptRecord } from '../model/documents.js';
import { parseJobDocument } from '../model/parse.js';
import { JobStatus } from '../model/status.js';

import { boundJobError } from './bounded-text.js';
import { appendAttempt, closeAttempt, openAttempt } from './claim-job.js';
import { now, type Store } from './store.js';
import { transition } from './transition.js';

/** Identifies the claim a finishing task holds. */
export interface OwnedJob {
  orchestrationId: string;
  jobId: string;
  claimId: string;
}

/** `recorded`: the write happened. `lost`: the task no longer owns the job (cancelled, taken over, ended). */
export type FinishOutcome = 'recorded' | 'lost';

async function whileOwned(
  store: Store,
  owned: OwnedJob,
  write: (tx: Transaction, job: JobDoc) => void,
): Promise<FinishOutcome> {
  const ref = store.collections.job(owned.orchestrationId, owned.jobId);
  return store.firestore.runTransaction(async (tx) => {
    const snapshot = await tx.get(ref);
    if (!snapshot.exists) return 'lost';
    const job = parseJobDocument(snapshot);
    // A retried final write whose first commit went through (the answer was lost) is already recorded.
    if (
      job.claim?.id === owned.claimId &&
      (job.status === JobStatus.Completed || job.status === JobStatus.Errored)
    ) {
      return 'recorded';
    }
    if (job.status !== JobStatus.InProgress || job.claim?.id !== owned.claimId) return 'lost';
    write(tx, job);
    return 'recorded';
  });
}

/** Stores the JSON result and moves the job to `Completed`, if the caller still owns it. */
export function completeJob(store: Store, owned: OwnedJob & { result: unknown }): Promise<FinishOutcome> {
  return whileOwned(store, owned, (tx, job) => {
    const at = now(store);
    transition(store, tx, job, JobStatus.Completed, {
      result: owned.result === undefined ? null : owned.result,
      error: null,
      finishedAt: at,
      progress: { ratio: 1, message: job.progress?.message ?? null, at },
      attempts: closeAttempt(job.attempts, 'Completed', at, null),
    });
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
  return whileOwned(store, owned, (tx, job) => {
    const at = now(store);
    const history = closeAttempt(job.attempts, owned.outcome, at, {
      message: owned.error.message,
      code: owned.error.code,
    });
    const error = boundJobError(owned.error);
    if (owned.final) {
      transition(store, tx, job, JobStatus.Errored, {
        error,
        deadLettered: owned.deadLettered,
        finishedAt: at,
        attempts: history,
      });
      return;
    }
    const attempt = job.attempt + 1;
    const next = openAttempt(job, attempt, at, owned.executionName ?? job.claim?.executionName ?? null);
    tx.update(store.collections.job(job.orchestrationId, job.id), {
      attempt,
      ...appendAttempt(job, history, next),
      error,
      heartbeatAt: at,
      updatedAt: at,
    });
  });
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
  return whileOwned(store, owned, (tx, job) => {
    const at = now(store);
    transition(store, tx, job, JobStatus.Pending, {
      error: boundJobError(owned.error),
      claim: null,
      heartbeatAt: null,
      attempts: closeAttempt(job.attempts, owned.outcome, at, {
        message: owned.error.message,
        code: owned.error.code,
      }),
    });
  });
}
