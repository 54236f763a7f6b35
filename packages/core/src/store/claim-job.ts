import type { Precondition, Timestamp, WriteBatch } from '@google-cloud/firestore';

import { DEFAULTS } from '../defaults.js';
import { E11Error, ErrorCode } from '../errors.js';
import { GrpcStatus, grpcCodeOf } from '../internal/grpc-errors.js';
import { type AttemptRecord, type Claim, type JobDoc, type JobErrorInfo } from '../model/documents.js';
import { parseJobDocument } from '../model/parse.js';
import { isTerminal, JobStatus } from '../model/status.js';

import { deadAttemptEnd, openAttemptMillis } from './attempt-time.js';
import { truncateUtf8 } from './bounded-text.js';
import type { KnownVersion } from './job-version.js';
import { now, type Store } from './store.js';
import { transition } from './transition.js';
import { type JobSource, lazyUnwrittenJob } from './unwritten-jobs.js';

/** Who is claiming a job, and the limits that decide a takeover. */
export interface ClaimRequest {
  orchestrationId: string;
  jobId: string;
  claim: Claim;
  /** Attempts allowed in the current epoch (first run included). */
  maxAttempts: number;
  /** A claim whose heartbeat is older than this belongs to a dead task. */
  heartbeatTimeoutMs: number;
  /** The job as the caller read it (a job with no document yet is then not read again). */
  job?: JobDoc;
  /** The orchestration, if the caller read it. */
  orchestration?: JobSource;
  /** The job's index, if the caller knows it (a job with no document is then found at once). */
  indexHint?: number;
}

/** The outcome of {@link claimJob}. */
export type ClaimResult =
  /** The caller owns the job now and must run attempt `attempt`. `takeover` when it replaced a dead attempt. */
  | { outcome: 'claimed'; job: JobDoc; attempt: number; takeover: boolean }
  /** The job already ended (a re-delivered task): do not run it again. */
  | { outcome: 'terminal'; job: JobDoc }
  /** Another live task owns the job (its heartbeat is fresh): do not run it twice. */
  | { outcome: 'running-elsewhere'; job: JobDoc }
  /** A dead attempt was found and no attempts are left: the job is now Errored and dead-lettered. */
  | { outcome: 'exhausted'; job: JobDoc };

/** True when the recorded claim is gone: Cloud Run retried its task, or its heartbeat went stale. */
function claimIsDead(job: JobDoc, request: ClaimRequest, nowMs: number): boolean {
  const held = job.claim;
  if (!held) return true;
  const sameTask =
    held.executionName !== null &&
    held.executionName === request.claim.executionName &&
    held.taskIndex === request.claim.taskIndex;
  if (sameTask && (request.claim.taskAttempt ?? 0) > (held.taskAttempt ?? 0)) return true;
  const heartbeat = job.heartbeatAt?.toMillis() ?? 0;
  return nowMs - heartbeat > request.heartbeatTimeoutMs;
}

/**
 * Closes the open attempt record (the last one without `finishedAt`); its error message and code are
 * cut to their budget (DEFAULTS.maxAttemptErrorBytes, maxErrorCodeBytes).
 */
export function closeAttempt(
  attempts: readonly AttemptRecord[],
  outcome: NonNullable<AttemptRecord['outcome']>,
  finishedAt: Timestamp,
  error: { message: string; code: string } | null,
): AttemptRecord[] {
  const copy = attempts.map((record) => ({ ...record }));
  const open = copy.findLast((record) => record.finishedAt === null);
  const bounded = error && {
    message: truncateUtf8(error.message, DEFAULTS.maxAttemptErrorBytes),
    code: truncateUtf8(error.code, DEFAULTS.maxErrorCodeBytes),
  };
  if (open) Object.assign(open, { outcome, finishedAt, error: bounded });
  return copy;
}

/**
 * A job's attempt history after one more record, within DEFAULTS.maxAttemptRecords; `attemptsDropped`
 * is present only when records were dropped (a document gets the field once it needs it).
 */
export interface AttemptHistory {
  attempts: AttemptRecord[];
  attemptsDropped?: JobDoc['attemptsDropped'];
}

/**
 * Appends `record` to `history` and, past DEFAULTS.maxAttemptRecords, drops the oldest records but the
 * first (kept: how the job started), counting them in `attemptsDropped` so that
 * {@link attemptsInEpoch} stays exact. Without the cap, retries across epochs grow the document until
 * Firestore refuses every write to the job.
 */
export function appendAttempt(
  job: Pick<JobDoc, 'attemptsDropped'>,
  history: readonly AttemptRecord[],
  record: AttemptRecord,
): AttemptHistory {
  const all = [...history, record];
  const excess = all.length - DEFAULTS.maxAttemptRecords;
  if (excess <= 0) return { attempts: all };
  let { count, epoch, inEpoch } = job.attemptsDropped;
  for (const dropped of all.slice(1, 1 + excess)) {
    count++;
    if (dropped.epoch === epoch) inEpoch++;
    else [epoch, inEpoch] = [dropped.epoch, 1];
  }
  return {
    attempts: [...all.slice(0, 1), ...all.slice(1 + excess)],
    attemptsDropped: { count, epoch, inEpoch },
  };
}

/** The retryable `E11_CRASHED` error of a job whose task stopped without reporting. */
export function crashedError(
  job: Pick<JobDoc, 'jobName' | 'orchestrationId' | 'id' | 'attempt'>,
  message: string,
): JobErrorInfo {
  return {
    message,
    code: ErrorCode.Crashed,
    name: null,
    stack: null,
    jobName: job.jobName,
    orchestrationId: job.orchestrationId,
    jobId: job.id,
    attempt: job.attempt,
    retryable: true,
  };
}

/** The record of attempt `attempt`, started at `at` in the job's current epoch. */
export function openAttempt(
  job: Pick<JobDoc, 'epoch'>,
  attempt: number,
  at: Timestamp,
  executionName: string | null,
): AttemptRecord {
  return {
    attempt,
    epoch: job.epoch,
    startedAt: at,
    finishedAt: null,
    outcome: null,
    error: null,
    executionName,
  };
}

/** Attempts already started in the job's current epoch (kept records plus dropped ones, see {@link appendAttempt}). */
export function attemptsInEpoch(job: Pick<JobDoc, 'attempts' | 'attemptsDropped' | 'epoch'>): number {
  const dropped = job.attemptsDropped.epoch === job.epoch ? job.attemptsDropped.inEpoch : 0;
  return job.attempts.filter((record) => record.epoch === job.epoch).length + dropped;
}

/** How often a claim reads again after another writer changed the job between its read and its write. */
const MAX_CLAIM_TRIES = 5;

/** What a claim decided: the outcome, and whether it wrote (a written claim gets a known version). */
type ClaimDecision = { result: ClaimResult; writes: boolean };

function decideClaim(
  store: Store,
  request: ClaimRequest,
  batch: WriteBatch,
  job: JobDoc | undefined,
  precondition: Precondition | undefined,
): ClaimDecision {
  if (!job) {
    throw new E11Error(
      ErrorCode.UnknownJob,
      `Job ${request.jobId} of orchestration ${request.orchestrationId} does not exist.`,
      { context: { orchestrationId: request.orchestrationId, jobId: request.jobId } },
    );
  }
  // A retried claim whose first commit went through (the answer was lost): the job is already ours.
  if (job.status === JobStatus.InProgress && job.claim?.id === request.claim.id) {
    return { result: { outcome: 'claimed', job, attempt: job.attempt, takeover: false }, writes: false };
  }
  if (isTerminal(job.status)) return { result: { outcome: 'terminal', job }, writes: false };
  const at = now(store);
  const takeover = job.status === JobStatus.InProgress;
  if (takeover && !claimIsDead(job, request, at.toMillis()))
    return { result: { outcome: 'running-elsewhere', job }, writes: false };

  const crashed = crashedError(
    job,
    'The task stopped without reporting (container crashed, was killed, or its heartbeat went stale).',
  );
  // The dead attempt ends at its last heartbeat (attempt-time.ts), and its task time is counted.
  const deadEnd = deadAttemptEnd(job, at);
  const history = takeover
    ? closeAttempt(job.attempts, 'Crashed', deadEnd, { message: crashed.message, code: crashed.code })
    : job.attempts;
  const taskMillis = takeover ? openAttemptMillis(job.attempts, deadEnd) : 0;
  if (attemptsInEpoch(job) >= request.maxAttempts) {
    const patch = { attempts: history, error: crashed, deadLettered: true, finishedAt: at, claim: null };
    transition(store, batch, job, JobStatus.Errored, patch, precondition, taskMillis);
    return {
      result: {
        outcome: 'exhausted',
        job: { ...job, status: JobStatus.Errored, attempts: history, error: crashed, deadLettered: true },
      },
      writes: true,
    };
  }
  const attempt = job.attempt + 1;
  const patch = {
    attempt,
    ...appendAttempt(job, history, openAttempt(job, attempt, at, request.claim.executionName)),
    claim: request.claim,
    heartbeatAt: at,
    startedAt: job.startedAt ?? at,
    maxAttempts: request.maxAttempts,
    // The launcher records the full execution name; a task only knows its short CLOUD_RUN_EXECUTION.
    executionName: job.executionName ?? request.claim.executionName,
  };
  transition(store, batch, job, JobStatus.InProgress, patch, precondition, taskMillis);
  return {
    result: {
      outcome: 'claimed',
      job: { ...job, ...patch, status: JobStatus.InProgress, updatedAt: at },
      attempt,
      takeover,
    },
    writes: true,
  };
}

/**
 * Claims a job for one task, so that a re-delivered task never runs a job twice: a terminal job is
 * left alone; an `InProgress` job under a live heartbeat stays with its owner; a `Pending` job, or one
 * whose owner is dead (Cloud Run retried the task, or the heartbeat is stale), is claimed: `InProgress`,
 * attempt + 1, startedAt, heartbeat, and a new attempt record. The decision is written as one batch
 * fenced on what it was made from — the job document's update time, or (a job with no document) its
 * creation — so a writer in between makes it read and decide again; as a transaction would, without
 * its lock, and with the write's time known: a `claimed` result carries the job's version
 * (job-version.ts) for the task's later writes. `createFirst` (the first delivery of an array-mode
 * task, whose job most likely has no document) skips reading the document: the params chunk is read
 * and the create tells whether the document exists.
 */
export async function claimJob(
  store: Store,
  request: ClaimRequest & { createFirst?: boolean },
): Promise<ClaimResult & { version?: KnownVersion }> {
  const ref = store.collections.job(request.orchestrationId, request.jobId);
  const unwritten = lazyUnwrittenJob(store, {
    ...request,
    known: request.job,
    source: request.orchestration,
  });
  let readFirst = request.createFirst !== true;
  for (let tries = 1; ; tries++) {
    const snapshot = readFirst ? await ref.get() : undefined;
    const job = snapshot?.exists ? parseJobDocument(snapshot) : await unwritten();
    if (!job && !readFirst) {
      readFirst = true;
      continue;
    }
    const batch = store.firestore.batch();
    const precondition = snapshot?.exists ? { lastUpdateTime: snapshot.updateTime } : undefined;
    const { result, writes } = decideClaim(store, request, batch, job, precondition);
    if (!writes) {
      const version = snapshot?.updateTime && job ? { job, updateTime: snapshot.updateTime } : undefined;
      return result.outcome === 'claimed' && version ? { ...result, version } : result;
    }
    try {
      const [jobWrite] = await batch.commit();
      if (result.outcome !== 'claimed' || !jobWrite) return result;
      return { ...result, version: { job: result.job, updateTime: jobWrite.writeTime } };
    } catch (error) {
      const code = grpcCodeOf(error);
      const raced = code === GrpcStatus.FAILED_PRECONDITION || code === GrpcStatus.ALREADY_EXISTS;
      if (!raced || tries >= MAX_CLAIM_TRIES) throw error;
      readFirst = true;
    }
  }
}
