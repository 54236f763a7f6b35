import {
  type ActivityOutcome,
  type Clock,
  DEFAULTS,
  type FailureOutcome,
  type FinishOutcome,
  type JobErrorInfo,
  JobStatus,
  type OwnedJob,
  type RunningJob,
  truncateUtf8,
} from '@e11/core';

import type { JobWrites } from '../job-writes.js';

/** One attempt of an in-process run, as the runner recorded it. */
export interface RecordedAttempt {
  /** 1-based attempt number (`ctx.attempt`). */
  attempt: number;
  /** Epoch milliseconds of the run's clock. */
  startedAt: number;
  finishedAt: number | null;
  /** How the attempt ended (`Completed`, `Errored`, `TimedOut`, `Interrupted`), null while open. */
  outcome: 'Completed' | FailureOutcome | null;
  /** The failure as the attempt history stores it (message cut to DEFAULTS.maxAttemptErrorBytes). */
  error: { message: string; code: string } | null;
  /** The backoff the runner chose before the next attempt, when it retried this one. */
  retryInMs: number | null;
}

/** One progress write: what `ctx.progress` stored (clamped to 0..1, message redacted and bounded). */
export interface RecordedProgress {
  ratio: number;
  message: string | null;
  /** Epoch milliseconds of the run's clock. */
  at: number;
}

/**
 * The job writes of one in-process run, kept in memory: the job's status, attempt history, result,
 * error, progress and checkpoints, as the Firestore store would hold them after the same writes.
 * Every write is fenced on the claim like the store's: once the job has ended a write is refused
 * (`lost`), which aborts the job's signal with E11_CLAIM_LOST.
 */
export class MemoryJobWrites implements JobWrites {
  status: JobStatus = JobStatus.InProgress;
  attempt: number;
  readonly attempts: RecordedAttempt[] = [];
  readonly progress: RecordedProgress[] = [];
  readonly checkpoints: unknown[] = [];
  checkpoint: unknown;
  result: unknown = null;
  error: JobErrorInfo | null = null;
  deadLettered = false;
  heartbeats = 0;
  private claimId: string | null;
  private readonly clock: Clock;

  constructor(options: { claimId: string; clock: Clock; checkpoint: unknown }) {
    this.claimId = options.claimId;
    this.clock = options.clock;
    this.checkpoint = options.checkpoint;
    this.attempt = 1;
    this.open(1);
  }

  /** Notes the backoff the runner waits after the latest closed attempt. */
  noteRetry(ms: number): void {
    const last = this.attempts.findLast((record) => record.finishedAt !== null);
    if (last) last.retryInMs = ms;
  }

  recordHeartbeat(job: RunningJob): Promise<ActivityOutcome> {
    return this.whileClaimed(job, () => {
      this.heartbeats++;
    });
  }

  recordProgress(job: RunningJob, ratio: number, message: string | null): Promise<ActivityOutcome> {
    return this.whileClaimed(job, () => {
      this.progress.push({
        ratio: Math.min(1, Math.max(0, ratio)),
        message: message === null ? null : truncateUtf8(message, DEFAULTS.maxProgressMessageBytes),
        at: this.clock.now(),
      });
    });
  }

  saveCheckpoint(job: RunningJob, checkpoint: unknown): Promise<ActivityOutcome> {
    return this.whileClaimed(job, () => {
      const stored = checkpoint === undefined ? null : checkpoint;
      this.checkpoints.push(stored);
      this.checkpoint = stored;
    });
  }

  completeJob(owned: Parameters<JobWrites['completeJob']>[0]): Promise<FinishOutcome> {
    return this.whileOwned(owned, () => {
      this.close('Completed', null);
      this.result = owned.result === undefined ? null : owned.result;
      this.error = null;
      this.status = JobStatus.Completed;
    });
  }

  failJob(owned: Parameters<JobWrites['failJob']>[0]): Promise<FinishOutcome> {
    return this.whileOwned(owned, () => {
      this.close(owned.outcome, owned.error);
      this.error = owned.error;
      if (owned.final) {
        this.status = JobStatus.Errored;
        this.deadLettered = owned.deadLettered;
        return;
      }
      this.attempt++;
      this.open(this.attempt);
    });
  }

  releaseJob(owned: Parameters<JobWrites['releaseJob']>[0]): Promise<FinishOutcome> {
    return this.whileOwned(owned, () => {
      this.close(owned.outcome, owned.error);
      this.error = owned.error;
      this.status = JobStatus.Pending;
      this.claimId = null;
    });
  }

  private open(attempt: number): void {
    this.attempts.push({
      attempt,
      startedAt: this.clock.now(),
      finishedAt: null,
      outcome: null,
      error: null,
      retryInMs: null,
    });
  }

  private close(outcome: NonNullable<RecordedAttempt['outcome']>, error: JobErrorInfo | null): void {
    const open = this.attempts.findLast((record) => record.finishedAt === null);
    if (!open) return;
    open.finishedAt = this.clock.now();
    open.outcome = outcome;
    open.error = error && {
      message: truncateUtf8(error.message, DEFAULTS.maxAttemptErrorBytes),
      code: truncateUtf8(error.code, DEFAULTS.maxErrorCodeBytes),
    };
  }

  private owns(job: RunningJob): boolean {
    return this.status === JobStatus.InProgress && job.claimId === this.claimId;
  }

  private whileClaimed(job: RunningJob, write: () => void): Promise<ActivityOutcome> {
    if (!this.owns(job)) return Promise.resolve('lost');
    write();
    return Promise.resolve('recorded');
  }

  private whileOwned(owned: OwnedJob, write: () => void): Promise<FinishOutcome> {
    if (!this.owns(owned)) return Promise.resolve('lost');
    write();
    return Promise.resolve('recorded');
  }
}
