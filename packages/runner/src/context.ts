import type { JobParams, Logger, RunningJob } from '@e11/core';

import type { JobMonitor } from './job-monitor.js';
import type { JobWrites } from './job-writes.js';
import { ProgressReporter } from './progress-reporter.js';
import { toStoredJson } from './stored-json.js';

/**
 * What a job's `run` receives besides its params: identity, the abort signal, a logger, progress,
 * heartbeat and checkpoints. `P` is the params type, `C` the checkpoint type.
 *
 * Checkpoints: reading is `ctx.checkpoint` and saving is `ctx.saveCheckpoint(state)` (a property and a
 * method cannot share one name).
 */
export interface JobContext<P = JobParams, C = unknown> {
  readonly orchestrationId: string;
  readonly jobId: string;
  readonly jobName: string;
  /** The params `run` received (after the schema, when the class has one). */
  readonly params: P;
  /** This attempt's number: 1-based, cumulative over in-task retries and relaunches, as stored on the job. */
  readonly attempt: number;
  /** Attempts allowed (first run included). */
  readonly maxAttempts: number;
  /** CLOUD_RUN_TASK_INDEX, or null outside Cloud Run. */
  readonly taskIndex: number | null;
  /** CLOUD_RUN_EXECUTION, or null outside Cloud Run. */
  readonly executionName: string | null;
  /**
   * Fires on SIGTERM (Cloud Run task timeout or cancellation), the job's own timeout, a cancellation of
   * the orchestration, or the loss of this task's claim (another task took the job over). Its `reason`
   * is an E11Error (`E11_INTERRUPTED`, `E11_TIMEOUT`, `E11_CANCELLED`, `E11_CLAIM_LOST`). After a lost
   * claim or a cancellation, heartbeat, progress and checkpoint writes are refused.
   */
  readonly signal: AbortSignal;
  /** Structured logger (Cloud Logging JSON) labelled with orchestrationId, jobId, jobName and attempt. */
  readonly log: Logger;
  /** What a previous attempt saved with `saveCheckpoint`, or undefined when nothing was saved. */
  readonly checkpoint: C | undefined;
  /**
   * Reports progress (`ratio` 0..1, optional message; sensitive values are redacted from it). Cheap to call often: writes are throttled to about
   * one per second per job. The latest value is written when the attempt fails; on success the
   * completion sets progress to 1. Write errors are logged, never thrown.
   */
  progress(ratio: number, message?: string): void;
  /**
   * Writes the heartbeat now (it is also written automatically while the job runs). Rejects with
   * E11_CLAIM_LOST or E11_CANCELLED (and fires `signal`) when this task no longer owns the job.
   */
  heartbeat(): Promise<void>;
  /**
   * Saves state the next attempt receives as `ctx.checkpoint` (resumable jobs): JSON, at most
   * DEFAULTS.maxResultBytes (64 KiB). Rejects with E11_JOB_FAILED when it is not storable, and with
   * E11_CLAIM_LOST or E11_CANCELLED (nothing written, `signal` fired) when this task no longer owns the job.
   */
  saveCheckpoint(state: C): Promise<void>;
}

/** What {@link createJobContext} needs to build one attempt's context. */
export interface JobContextInput<P> {
  writes: JobWrites;
  /** The job and this task's claim: every write is fenced on it. */
  owned: RunningJob;
  jobName: string;
  params: P;
  attempt: number;
  maxAttempts: number;
  taskIndex: number | null;
  executionName: string | null;
  signal: AbortSignal;
  log: Logger;
  /** The checkpoint to expose, and where a saved one is remembered for the next in-task attempt. */
  checkpoint: { current: unknown };
  progressIntervalMs: number;
  /** Told of every write that carried a heartbeat (progress, checkpoint, `ctx.heartbeat()`) or was refused. */
  monitor: JobMonitor;
  /** Redacts the job's sensitive values from a progress message before it is stored (and streamed). */
  redact: (text: string) => string;
}

/**
 * Builds the context of one attempt, with its own throttled progress reporter. `flush()` writes the
 * pending progress value; `stop()` drops it and ends the reporter when the attempt ends.
 */
export function createJobContext<P, C>(
  input: JobContextInput<P>,
): { ctx: JobContext<P, C>; flush(): Promise<void>; stop(): void } {
  const { writes, owned, log, monitor, redact } = input;
  const progress = new ProgressReporter(
    async (ratio, message) => {
      const text = message === null ? null : redact(message);
      monitor.settle(await monitor.exclusive(() => writes.recordProgress(owned, ratio, text)));
    },
    input.progressIntervalMs,
    (error) => log.warn({ err: error }, 'progress write failed'),
  );
  const ctx: JobContext<P, C> = {
    orchestrationId: owned.orchestrationId,
    jobId: owned.jobId,
    jobName: input.jobName,
    params: input.params,
    attempt: input.attempt,
    maxAttempts: input.maxAttempts,
    taskIndex: input.taskIndex,
    executionName: input.executionName,
    signal: input.signal,
    log,
    checkpoint: (input.checkpoint.current ?? undefined) as C | undefined,
    progress: (ratio, message) => progress.report(ratio, message),
    heartbeat: () => monitor.beat(),
    saveCheckpoint: async (state) => {
      const stored = toStoredJson(state, 'checkpoint');
      monitor.settle(await monitor.exclusive(() => writes.saveCheckpoint(owned, stored)));
      input.checkpoint.current = stored;
    },
  };
  return { ctx, flush: () => progress.flush(), stop: () => progress.stop() };
}
