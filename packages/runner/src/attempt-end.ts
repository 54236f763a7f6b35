import {
  type FailureOutcome,
  type FinishOutcome,
  type JobErrorInfo,
  JobStatus,
  type OwnedJob,
} from '@e11/core';

import type { JobWrites } from './job-writes.js';
import { ExitCode, type ExecuteOutcome, type ExitCodeValue } from './outcome.js';

/**
 * How this task's part in a job ends (or, for `fail-retry`, how one attempt ends before the next):
 * each kind makes at most one store write, listed in {@link ATTEMPT_ENDS}.
 */
export type AttemptEnd =
  /** `run()` returned and its result is storable: the job is Completed. */
  | { kind: 'complete'; result: unknown }
  /** A retryable failure with attempts left: the attempt is closed and the next one opened in this task. */
  | { kind: 'fail-retry'; error: JobErrorInfo; outcome: FailureOutcome; executionName: string | null }
  /**
   * Errored for good: not retryable (bad params, a class that cannot be built, an unstorable result, a
   * permanent error) or no attempts left (`deadLettered`).
   */
  | { kind: 'fail-permanent'; error: JobErrorInfo; outcome: FailureOutcome; deadLettered: boolean }
  /** The job ignored its abort signal and attempts remain: give it back (Pending) for a fresh task. */
  | { kind: 'release-hung'; error: JobErrorInfo; outcome: FailureOutcome }
  /** SIGTERM while attempts remain: give the job back (Pending) for Cloud Run's retry or the sweeper. */
  | { kind: 'release-interrupted'; error: JobErrorInfo }
  /** SIGTERM on the last attempt: the job is Errored and dead-lettered. */
  | { kind: 'fail-interrupted'; error: JobErrorInfo }
  /** The job was cancelled (its document says so): nothing is written, the canceller decides. */
  | { kind: 'cancelled' }
  /** Another task took the job over, or it ended elsewhere: nothing is written, the new owner decides. */
  | { kind: 'lost' };

/** One row of {@link ATTEMPT_ENDS}. */
export interface AttemptEndRow<E extends AttemptEnd> {
  /** The one store write, fenced on the claim; `null`: nothing is written. */
  write: ((writes: JobWrites, owned: OwnedJob, end: E) => Promise<FinishOutcome>) | null;
  /**
   * `queued`: after any progress, checkpoint or heartbeat write of this task still in flight.
   * `short`: at once and with a short retry budget, to fit in the SIGTERM grace period.
   */
  timing: 'queued' | 'short';
  /** How the task reports it (the exit code Cloud Run sees) and the job's status once the write is recorded. */
  outcome: ExecuteOutcome;
  exitCode: ExitCodeValue;
  status: JobStatus | undefined;
}

/**
 * The attempt loop's table: from how the task's part in a job ends to the one store write it makes
 * and what the task reports. A write that finds the claim gone reports `lost` instead (exit 0: a
 * non-zero exit would make Cloud Run retry a task whose job is not its own any more).
 */
export const ATTEMPT_ENDS: { [K in AttemptEnd['kind']]: AttemptEndRow<Extract<AttemptEnd, { kind: K }>> } = {
  complete: {
    write: (writes, owned, end) => writes.completeJob({ ...owned, result: end.result }),
    timing: 'queued',
    outcome: 'completed',
    exitCode: ExitCode.Ok,
    status: JobStatus.Completed,
  },
  'fail-retry': {
    write: (writes, owned, end) =>
      writes.failJob({
        ...owned,
        error: end.error,
        outcome: end.outcome,
        final: false,
        deadLettered: false,
        executionName: end.executionName,
      }),
    timing: 'queued',
    // Not an end of the task: the loop waits the backoff and runs the next attempt.
    outcome: 'failed',
    exitCode: ExitCode.Failed,
    status: JobStatus.InProgress,
  },
  'fail-permanent': {
    write: (writes, owned, end) =>
      writes.failJob({
        ...owned,
        error: end.error,
        outcome: end.outcome,
        final: true,
        deadLettered: end.deadLettered,
      }),
    timing: 'queued',
    outcome: 'failed',
    // Its end is recorded: a non-zero exit would only make Cloud Run retry a task with nothing to do.
    exitCode: ExitCode.Ok,
    status: JobStatus.Errored,
  },
  'release-hung': {
    write: (writes, owned, end) => writes.releaseJob({ ...owned, error: end.error, outcome: end.outcome }),
    timing: 'queued',
    outcome: 'failed',
    exitCode: ExitCode.Failed,
    status: JobStatus.Pending,
  },
  'release-interrupted': {
    write: (writes, owned, end) => writes.releaseJob({ ...owned, error: end.error, outcome: 'Interrupted' }),
    timing: 'short',
    outcome: 'interrupted',
    exitCode: ExitCode.Interrupted,
    status: JobStatus.Pending,
  },
  'fail-interrupted': {
    write: (writes, owned, end) =>
      writes.failJob({
        ...owned,
        error: end.error,
        outcome: 'Interrupted',
        final: true,
        deadLettered: true,
      }),
    timing: 'short',
    outcome: 'interrupted',
    exitCode: ExitCode.Interrupted,
    status: JobStatus.Errored,
  },
  cancelled: {
    write: null,
    timing: 'queued',
    outcome: 'cancelled',
    exitCode: ExitCode.Ok,
    status: JobStatus.Cancelled,
  },
  lost: { write: null, timing: 'queued', outcome: 'lost', exitCode: ExitCode.Ok, status: undefined },
};

/** The row of `end` in {@link ATTEMPT_ENDS}, typed for it. */
export function rowOf<E extends AttemptEnd>(end: E): AttemptEndRow<E> {
  return ATTEMPT_ENDS[end.kind] as unknown as AttemptEndRow<E>;
}
