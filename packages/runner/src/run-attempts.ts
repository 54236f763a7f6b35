import {
  attemptsInEpoch,
  type ClientOptions,
  completeJob,
  DEFAULTS,
  delay,
  E11Error,
  ErrorCode,
  failJob,
  type FailureOutcome,
  type FinishOutcome,
  isRetryableGrpcError,
  type JobDoc,
  type JobVersion,
  JobStatus,
  releaseJob,
  type Store,
} from '@e11/core';

import { createJobContext } from './context.js';
import { toJobErrorInfo } from './error-info.js';
import { HeartbeatClock } from './heartbeat-clock.js';
import { JobMonitor } from './job-monitor.js';
import type { E11Job, JobClass, JobDefinition } from './job-name.js';
import type { RunnerLogger } from './logger.js';
import { ExitCode, type ExecuteJobResult, type ExecuteOutcome, type ExitCodeValue } from './outcome.js';
import { persist } from './persist.js';
import { isRetryableFailure, type ResolvedPolicy, retryDelayMs, shouldRetry } from './retry-policy.js';
import { settle } from './settle.js';
import { formatIssuePath, type StandardSchemaV1 } from './standard-schema.js';
import { toStoredJson } from './stored-json.js';
import type { TaskEnv } from './task-env.js';

/** A job this task has claimed, with everything needed to run its attempts. */
export interface ClaimedJob {
  store: Store;
  env: TaskEnv;
  /** The job document as claimed (InProgress, attempt record open). */
  job: JobDoc;
  /** What the task knows of the job's document after its claim: its fenced writes skip their read. */
  version?: JobVersion;
  definition: JobDefinition;
  policy: ResolvedPolicy;
  claimId: string;
  attempt: number;
  /** The orchestration's bound for a stale heartbeat: heartbeats come at least three times as often. */
  heartbeatTimeoutMs: number;
  log: RunnerLogger;
  redact: (text: string) => string;
  /** How the heartbeat watchdog thread creates its own Firestore client (same project and emulator). */
  client: ClientOptions;
  /** SIGTERM/SIGINT from runE11Job (or the caller of executeJob). */
  signal: AbortSignal | undefined;
  create: ((target: JobClass) => E11Job<unknown, unknown>) | undefined;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Validates params with the class's Standard Schema: the parsed value, or an E11_VALIDATION_FAILED error naming the field. */
async function validateParams(
  schema: StandardSchemaV1 | undefined,
  params: unknown,
): Promise<{ value: unknown } | { error: E11Error }> {
  if (!schema) return { value: params };
  let result: StandardSchemaV1.Result<unknown>;
  try {
    result = await schema['~standard'].validate(params);
  } catch (error) {
    return {
      error: new E11Error(ErrorCode.ValidationFailed, `The params schema threw: ${messageOf(error)}`, {
        cause: error,
      }),
    };
  }
  if (!result.issues) return { value: result.value };
  const issue = result.issues[0];
  const path = formatIssuePath(issue?.path);
  return {
    error: new E11Error(
      ErrorCode.ValidationFailed,
      `Invalid params${path ? ` at '${path}'` : ''}: ${issue?.message ?? 'does not match the schema'}` +
        (result.issues.length > 1 ? ` (and ${result.issues.length - 1} more issue(s))` : ''),
      { context: { path } },
    ),
  };
}

/**
 * Runs a claimed job: validates its params, builds the instance, and runs attempts with heartbeat,
 * cancellation listener, timeout, progress and checkpoints, retrying transient failures in the task
 * with backoff. Records the outcome on the job document (only while this task still owns it) and
 * maps it to an exit code. Never throws for a failure of the job itself; a final write that cannot
 * be stored (Firestore unreachable for minutes) rejects.
 */
export async function runAttempts(claimed: ClaimedJob): Promise<ExecuteJobResult> {
  const { store, env, job, definition, policy, claimId, log, redact } = claimed;
  const { logger } = log;
  const ids = { orchestrationId: job.orchestrationId, jobId: job.id };
  const owned = { ...ids, claimId, version: claimed.version };
  const outside = claimed.signal ? [claimed.signal] : [];
  let attempt = claimed.attempt;
  let attemptsUsed = attemptsInEpoch(job);
  const checkpoint = { current: job.checkpoint ?? undefined };

  const result = (
    outcome: ExecuteOutcome,
    exitCode: ExitCodeValue,
    status?: JobStatus,
  ): ExecuteJobResult => ({
    ...ids,
    exitCode,
    outcome,
    ...(status === undefined ? {} : { status }),
    attempt,
  });
  const errorInfo = (error: unknown, retryable: boolean) =>
    toJobErrorInfo(error, { ...ids, jobName: job.jobName, attempt }, { redact, retryable });

  // Cancellation and the loss of the claim abort this controller (never SIGTERM or the timeout).
  const cancelled = new AbortController();
  const monitor = new JobMonitor(store, owned, cancelled, logger, new HeartbeatClock());
  monitor.start({
    intervalMs: Math.max(100, Math.min(env.heartbeatIntervalMs, Math.floor(claimed.heartbeatTimeoutMs / 3))),
    client: claimed.client,
    collectionPrefix: env.collectionPrefix,
  });

  /** A final write (complete, fail, release), after any activity write of this task still in flight. */
  const finish = (write: () => Promise<FinishOutcome>) => persist(() => monitor.exclusive(write));

  /**
   * The job was cancelled or taken over: nothing is written, the new owner or the canceller decides.
   * Exit 0 either way: a non-zero exit makes Cloud Run retry a task whose job is not its to run.
   */
  const stopped = (): ExecuteJobResult => {
    const reason = cancelled.signal.reason as E11Error;
    logger.warn(reason.message);
    return reason.code === ErrorCode.Cancelled
      ? result('cancelled', ExitCode.Ok, JobStatus.Cancelled)
      : result('lost', ExitCode.Ok);
  };
  /** A write found the job no longer ours. */
  const lost = (): ExecuteJobResult => {
    if (cancelled.signal.aborted) return stopped();
    logger.warn(
      'The outcome was not stored: this task no longer owns the job (taken over or ended elsewhere).',
    );
    return result('lost', ExitCode.Ok);
  };
  /** Ends the job Errored without retry: bad params, a class that cannot be built, an unstorable result. */
  const failPermanently = async (error: unknown): Promise<ExecuteJobResult> => {
    const written = await finish(() =>
      failJob(store, {
        ...owned,
        error: errorInfo(error, false),
        outcome: 'Errored',
        final: true,
        deadLettered: false,
      }),
    );
    if (written === 'lost') return lost();
    logger.error(messageOf(error));
    return result('failed', ExitCode.Failed, JobStatus.Errored);
  };
  /** SIGTERM: give the job back while attempts remain (Cloud Run's task retry or the sweeper relaunches it). */
  const interrupted = async (): Promise<ExecuteJobResult> => {
    const reason: unknown =
      claimed.signal?.reason ??
      new E11Error(ErrorCode.Interrupted, 'The task was stopped.', { retryable: true });
    const info = errorInfo(reason, true);
    const last = attemptsUsed >= policy.maxAttempts;
    let written: FinishOutcome | undefined;
    try {
      // Not queued behind activity writes (monitor.exclusive): this must fit in the SIGTERM grace.
      written = await persist(
        () =>
          last
            ? failJob(store, {
                ...owned,
                error: info,
                outcome: 'Interrupted',
                final: true,
                deadLettered: true,
              })
            : releaseJob(store, { ...owned, error: info, outcome: 'Interrupted' }),
        'short',
      );
    } catch (error) {
      logger.error(
        { err: messageOf(error) },
        'Could not record the interruption: the sweeper will find the job by its stale heartbeat.',
      );
    }
    if (written === 'lost') return lost();
    logger.warn(
      `Interrupted (${info.message}); ${last ? 'no attempts left: dead-lettered' : 'released for a relaunch'}.`,
    );
    const status = written === 'recorded' ? (last ? JobStatus.Errored : JobStatus.Pending) : undefined;
    return result('interrupted', ExitCode.Interrupted, status);
  };

  try {
    const validated = await validateParams(definition.options.schema, job.params);
    if ('error' in validated) return await failPermanently(validated.error);
    let instance: E11Job<unknown, unknown>;
    try {
      instance = (
        claimed.create ?? ((target) => new (target as unknown as new () => E11Job<unknown, unknown>)())
      )(definition.target);
    } catch (error) {
      const name = definition.target.name || definition.name;
      return await failPermanently(
        new E11Error(
          ErrorCode.JobFailed,
          `Could not create the job instance of ${name}: ${messageOf(error)}`,
          {
            cause: error,
          },
        ),
      );
    }

    for (;;) {
      log.setLabels({ attempt: String(attempt) });
      // A SIGTERM that came before the attempt started: give the job back without starting it.
      if (outside.some((s) => s.aborted)) return await interrupted();
      const timeout = new AbortController();
      const timer =
        policy.timeoutMs === null
          ? undefined
          : setTimeout(() => {
              const message = `Attempt ${attempt} exceeded the job timeout of ${policy.timeoutMs} ms.`;
              timeout.abort(new E11Error(ErrorCode.Timeout, message, { retryable: true, context: ids }));
            }, policy.timeoutMs);
      const signal = AbortSignal.any([timeout.signal, cancelled.signal, ...outside]);
      const context = createJobContext<unknown, unknown>({
        store,
        owned,
        jobName: job.jobName,
        params: validated.value,
        attempt,
        maxAttempts: policy.maxAttempts,
        taskIndex: env.taskIndex,
        executionName: env.executionName,
        signal,
        log: logger.child({}),
        checkpoint,
        progressIntervalMs: DEFAULTS.progressIntervalMs,
        monitor,
        redact,
      });
      logger.info({ maxAttempts: policy.maxAttempts }, `Attempt ${attempt} started.`);
      const started = performance.now();
      const settled = await settle(
        () => instance.run(validated.value, context.ctx),
        signal,
        env.terminationGraceMs,
      );
      clearTimeout(timer);
      if (cancelled.signal.aborted) {
        context.stop();
        return stopped();
      }
      // On success the completion write sets progress to 1 itself: pending progress is dropped, not flushed.
      if (!settled.ok) await context.flush();
      context.stop();
      const elapsedMs = Math.round(performance.now() - started);

      if (settled.ok) {
        let value: unknown;
        try {
          value = toStoredJson(settled.value, 'result');
        } catch (error) {
          return await failPermanently(error);
        }
        let written: FinishOutcome;
        try {
          // The completion is fenced on the claim: the listener has nothing left to tell (and would
          // pay a read for this write's own echo).
          monitor.stopListening();
          written = await finish(() => completeJob(store, { ...owned, result: value }));
        } catch (error) {
          if (isRetryableGrpcError(error)) throw error;
          // Firestore refused the value itself (e.g. nested arrays): the job fails, it does not hang.
          return await failPermanently(
            new E11Error(ErrorCode.JobFailed, `The job's result could not be stored: ${messageOf(error)}`),
          );
        }
        if (written === 'lost') return lost();
        logger.info({ elapsedMs }, `Attempt ${attempt} completed.`);
        return result('completed', ExitCode.Ok, JobStatus.Completed);
      }

      // An abort explains the failure better than whatever the job threw in reaction to it.
      const timedOut = timeout.signal.aborted;
      const error: unknown = timedOut ? timeout.signal.reason : settled.error;
      if (!timedOut && outside.some((s) => s.aborted)) return await interrupted();
      const outcome: FailureOutcome = timedOut ? 'TimedOut' : 'Errored';
      const retryable = isRetryableFailure(policy, error, attempt);

      if (settled.hung) {
        // The job ignored its AbortSignal: it cannot be retried in this process. Hand it to a fresh one.
        const last = attemptsUsed >= policy.maxAttempts || !retryable;
        const info = errorInfo(error, retryable);
        const written = await finish(() =>
          last
            ? failJob(store, { ...owned, error: info, outcome, final: true, deadLettered: retryable })
            : releaseJob(store, { ...owned, error: info, outcome }),
        );
        if (written === 'lost') return lost();
        logger.error(
          `Attempt ${attempt} did not stop within ${env.terminationGraceMs} ms of its abort signal (${messageOf(error)}); ` +
            (last ? 'the job is Errored.' : 'the job is released for a fresh task.'),
        );
        return result('failed', ExitCode.Failed, last ? JobStatus.Errored : JobStatus.Pending);
      }

      if (shouldRetry(policy, error, attempt, attemptsUsed)) {
        const written = await finish(() =>
          failJob(store, {
            ...owned,
            error: errorInfo(error, true),
            outcome,
            final: false,
            deadLettered: false,
            executionName: env.executionName,
          }),
        );
        if (written === 'lost') return lost();
        const wait = retryDelayMs(policy, attemptsUsed);
        logger.warn({ err: messageOf(error), retryInMs: wait }, `Attempt ${attempt} failed; retrying.`);
        attempt++;
        attemptsUsed++;
        try {
          await delay(wait, AbortSignal.any([cancelled.signal, ...outside]));
        } catch {
          return cancelled.signal.aborted ? stopped() : await interrupted();
        }
        continue;
      }

      const exhausted = retryable && attemptsUsed >= policy.maxAttempts;
      const written = await finish(() =>
        failJob(store, {
          ...owned,
          error: errorInfo(error, retryable),
          outcome,
          final: true,
          deadLettered: exhausted,
        }),
      );
      if (written === 'lost') return lost();
      logger.error(
        { code: (error as { code?: unknown } | null)?.code, elapsedMs },
        `Attempt ${attempt} failed${exhausted ? ' and no attempts are left (dead-lettered)' : ''}: ${messageOf(error)}`,
      );
      return result('failed', ExitCode.Failed, JobStatus.Errored);
    }
  } finally {
    await monitor.stop();
  }
}
