import { DEFAULTS, E11Error, ErrorCode, type Logger, type RunningJob, type TaskEnv } from '@e11/core';

import { createJobContext } from './context.js';
import type { JobMonitor } from './job-monitor.js';
import type { E11Job } from './job-name.js';
import type { JobWrites } from './job-writes.js';
import type { ResolvedPolicy } from './retry-policy.js';
import { settle, type Settled } from './settle.js';

/** What one attempt needs: the job instance and its params, and the task's state around it. */
export interface AttemptInput {
  writes: JobWrites;
  env: TaskEnv;
  owned: RunningJob;
  jobName: string;
  instance: E11Job<unknown, unknown>;
  params: unknown;
  attempt: number;
  policy: ResolvedPolicy;
  /** Aborted by a cancellation or the loss of the claim. */
  cancelled: AbortSignal;
  /** SIGTERM/SIGINT, when the caller passed a signal. */
  outside: readonly AbortSignal[];
  monitor: JobMonitor;
  /** The latest checkpoint, shared by the attempts of this task. */
  checkpoint: { current: unknown };
  logger: Logger;
  redact: (text: string) => string;
  /** Minimum gap between two progress writes. @default DEFAULTS.progressIntervalMs */
  progressIntervalMs?: number;
}

/** How an attempt's `run()` ended: `cancelled` when a cancellation or a lost claim stopped it. */
export type AttemptRun =
  | { cancelled: true }
  | { cancelled: false; settled: Settled<unknown>; timeout: AbortSignal; elapsedMs: number };

/**
 * Runs one attempt: arms the job's timeout, builds the job context (progress, heartbeat, checkpoint,
 * logger, the signal that joins timeout, cancellation and SIGTERM), calls `run()` and waits for it,
 * at most the termination grace after the signal fired. A failed attempt's pending progress is
 * written before it returns; a successful one's is dropped (the completion sets progress to 1).
 */
export async function runAttempt(input: AttemptInput): Promise<AttemptRun> {
  const { policy, attempt, logger } = input;
  const ids = { orchestrationId: input.owned.orchestrationId, jobId: input.owned.jobId };
  const timeout = new AbortController();
  const timer =
    policy.timeoutMs === null
      ? undefined
      : setTimeout(() => {
          const message = `Attempt ${attempt} exceeded the job timeout of ${policy.timeoutMs} ms.`;
          timeout.abort(new E11Error(ErrorCode.Timeout, message, { retryable: true, context: ids }));
        }, policy.timeoutMs);
  const signal = AbortSignal.any([timeout.signal, input.cancelled, ...input.outside]);
  const context = createJobContext<unknown, unknown>({
    writes: input.writes,
    owned: input.owned,
    jobName: input.jobName,
    params: input.params,
    attempt,
    maxAttempts: policy.maxAttempts,
    taskIndex: input.env.taskIndex,
    executionName: input.env.executionName,
    signal,
    log: logger.child({}),
    checkpoint: input.checkpoint,
    progressIntervalMs: input.progressIntervalMs ?? DEFAULTS.progressIntervalMs,
    monitor: input.monitor,
    redact: input.redact,
  });
  logger.info({ maxAttempts: policy.maxAttempts }, `Attempt ${attempt} started.`);
  const started = performance.now();
  const settled = await settle(
    () => input.instance.run(input.params, context.ctx),
    signal,
    input.env.terminationGraceMs,
  );
  clearTimeout(timer);
  if (input.cancelled.aborted) {
    context.stop();
    return { cancelled: true };
  }
  // On success the completion write sets progress to 1 itself: pending progress is dropped, not flushed.
  if (!settled.ok) await context.flush();
  context.stop();
  return {
    cancelled: false,
    settled,
    timeout: timeout.signal,
    elapsedMs: Math.round(performance.now() - started),
  };
}
