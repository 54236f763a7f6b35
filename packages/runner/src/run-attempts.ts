import {
  type AttemptStatus,
  attemptsInEpoch,
  type ClientOptions,
  type Clock,
  delay,
  E11Error,
  ErrorCode,
  type FailureOutcome,
  type FinishOutcome,
  isRetryableGrpcError,
  type JobDoc,
  type JobErrorInfo,
  type JobVersion,
  type Logger,
  type OwnedJob,
  recordAttemptDuration,
  recordJobsEnded,
  recordJobStarted,
  systemClock,
  type TaskEnv,
} from '@e11/core';
import { context } from '@opentelemetry/api';

import { type AttemptEnd, rowOf } from './attempt-end.js';
import { type AttemptSpan, startAttemptSpan } from './attempt-trace.js';
import { toJobErrorInfo } from './error-info.js';
import { HeartbeatClock } from './heartbeat-clock.js';
import { JobMonitor } from './job-monitor.js';
import type { E11Job, JobClass, JobDefinition } from './job-name.js';
import type { JobWrites } from './job-writes.js';
import type { RunnerLogger } from './logger.js';
import type { ExecuteJobResult } from './outcome.js';
import { persist } from './persist.js';
import { isRetryableFailure, type ResolvedPolicy, retryDelayMs, shouldRetry } from './retry-policy.js';
import { runAttempt } from './run-attempt.js';
import { toStoredJson } from './stored-json.js';
import { messageOf, validateParams } from './validate-params.js';

/** A job this task has claimed, with everything needed to run its attempts. */
export interface ClaimedJob {
  /** Where the job's activity and end are written, fenced on the claim. */
  writes: JobWrites;
  env: TaskEnv;
  /** The job document as claimed (InProgress, attempt record open): what the attempts read of it. */
  job: Pick<
    JobDoc,
    'id' | 'orchestrationId' | 'jobName' | 'params' | 'checkpoint' | 'attempts' | 'attemptsDropped' | 'epoch'
  >;
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
  /**
   * How the heartbeat watchdog thread creates its own Firestore client (same project and emulator);
   * undefined: no watchdog thread (writes that do not go to Firestore).
   */
  client: ClientOptions | undefined;
  /** SIGTERM/SIGINT from runE11Job (or the caller of executeJob). */
  signal: AbortSignal | undefined;
  create: ((target: JobClass) => E11Job<unknown, unknown>) | undefined;
  /** Waits the backoff before a retry; rejects when `signal` aborts. @default `delay` of @e11/core */
  wait?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Minimum gap between two progress writes. @default DEFAULTS.progressIntervalMs */
  progressIntervalMs?: number;
  /** The time source of the job's writes: attempt durations are measured on it. @default the system clock */
  clock?: Clock;
  /** The Cloud Run region the task runs in, when known: the metrics' `cloud.region`. */
  region?: string;
}

/**
 * Runs a claimed job: validates its params, builds the instance, and runs attempts with heartbeat,
 * cancellation listener, timeout, progress and checkpoints, retrying transient failures in the task
 * with backoff. Each way the task's part can end makes the one store write the table in
 * attempt-end.ts lists for it (only while this task still owns the job), and maps to an exit code.
 * Never throws for a failure of the job itself; a final write that cannot be stored (Firestore
 * unreachable for minutes) rejects.
 */
export async function runAttempts(claimed: ClaimedJob): Promise<ExecuteJobResult> {
  const loop = new AttemptLoop(claimed);
  try {
    return await loop.run();
  } finally {
    await loop.monitor.stop();
  }
}

/** The attempts of one claimed job in this task, and the state they share. */
class AttemptLoop {
  private readonly logger: Logger;
  private readonly ids: { orchestrationId: string; jobId: string };
  private readonly owned: OwnedJob;
  private readonly outside: AbortSignal[];
  private attempt: number;
  private attemptsUsed: number;
  private readonly checkpoint: { current: unknown };
  /** Cancellation and the loss of the claim abort this controller (never SIGTERM or the timeout). */
  private readonly cancelled = new AbortController();
  readonly monitor: JobMonitor;
  private readonly clock: Clock;
  /** When the open attempt record started, on `clock` (its `startedAt`, for `e11.attempt.duration`). */
  private attemptStartedMs: number;
  /** The running attempt's traceparent, stored with the attempt's end write. */
  private traceparent: string | null = null;

  constructor(private readonly claimed: ClaimedJob) {
    const { job, env } = claimed;
    this.logger = claimed.log.logger;
    this.ids = { orchestrationId: job.orchestrationId, jobId: job.id };
    this.owned = { ...this.ids, claimId: claimed.claimId, version: claimed.version };
    this.outside = claimed.signal ? [claimed.signal] : [];
    this.attempt = claimed.attempt;
    this.attemptsUsed = attemptsInEpoch(job);
    this.checkpoint = { current: job.checkpoint ?? undefined };
    this.clock = claimed.clock ?? systemClock;
    this.attemptStartedMs = job.attempts.at(-1)?.startedAt.toMillis() ?? this.clock.now();
    this.monitor = new JobMonitor(
      claimed.writes,
      this.owned,
      this.cancelled,
      this.logger,
      new HeartbeatClock(),
    );
    this.monitor.start({
      intervalMs: Math.max(
        100,
        Math.min(env.heartbeatIntervalMs, Math.floor(claimed.heartbeatTimeoutMs / 3)),
      ),
      client: claimed.client,
      collectionPrefix: env.collectionPrefix,
    });
  }

  /** Validates the params, builds the instance, then runs attempts until one ends the task's part. */
  async run(): Promise<ExecuteJobResult> {
    const { definition, job } = this.claimed;
    recordJobStarted('@e11/runner', this.point());
    const validated = await validateParams(definition.options.schema, job.params);
    if ('error' in validated) return this.failPermanently(validated.error);
    let instance: E11Job<unknown, unknown>;
    try {
      instance = (
        this.claimed.create ?? ((target) => new (target as unknown as new () => E11Job<unknown, unknown>)())
      )(definition.target);
    } catch (error) {
      const name = definition.target.name || definition.name;
      return this.failPermanently(
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
      const ended = await this.runOnce(instance, validated.value);
      if (ended !== 'retry') return ended;
    }
  }

  /**
   * One attempt in its span (`e11.attempt {jobName}`): `run()` executes in the span's context, so the
   * job's own spans nest under it, and the end write stores the span's traceparent.
   */
  private async runOnce(
    instance: E11Job<unknown, unknown>,
    params: unknown,
  ): Promise<ExecuteJobResult | 'retry'> {
    const { env, job } = this.claimed;
    const span = startAttemptSpan({ env, ...this.ids, jobName: job.jobName, attempt: this.attempt });
    this.traceparent = span.traceparent;
    let ended: ExecuteJobResult | 'retry' | undefined;
    try {
      ended = await context.with(span.context, () => this.attemptOnce(instance, params, span));
      return ended;
    } catch (error) {
      span.fail(error);
      throw error;
    } finally {
      span.end(
        ended === undefined ? 'unknown' : ended === 'retry' ? 'retrying' : (ended.status ?? ended.outcome),
      );
    }
  }

  /** One attempt and what follows it: the task's result, or `retry` once the next attempt may start. */
  private async attemptOnce(
    instance: E11Job<unknown, unknown>,
    params: unknown,
    span: AttemptSpan,
  ): Promise<ExecuteJobResult | 'retry'> {
    const { writes, env, job, policy } = this.claimed;
    this.claimed.log.setLabels({ attempt: String(this.attempt) });
    // A SIGTERM that came before the attempt started: give the job back without starting it.
    if (this.outside.some((s) => s.aborted)) return this.interrupted();
    const run = await runAttempt({
      writes,
      env,
      owned: this.owned,
      jobName: job.jobName,
      instance,
      params,
      attempt: this.attempt,
      policy,
      cancelled: this.cancelled.signal,
      outside: this.outside,
      monitor: this.monitor,
      checkpoint: this.checkpoint,
      logger: this.logger,
      redact: this.claimed.redact,
      progressIntervalMs: this.claimed.progressIntervalMs,
    });
    if (run.cancelled) return this.stopped();
    if (run.settled.ok) return this.complete(run.settled.value, run.elapsedMs);
    // An abort explains the failure better than whatever the job threw in reaction to it.
    const timedOut = run.timeout.aborted;
    const error: unknown = timedOut ? run.timeout.reason : run.settled.error;
    span.fail(error);
    if (!timedOut && this.outside.some((s) => s.aborted)) return this.interrupted();
    const outcome = timedOut ? ('TimedOut' as const) : ('Errored' as const);
    const retryable = isRetryableFailure(policy, error, this.attempt);
    const failure = { error, outcome, retryable, elapsedMs: run.elapsedMs };
    if (run.settled.hung) return this.hung(failure);
    if (shouldRetry(policy, error, this.attempt, this.attemptsUsed)) return this.retry(failure);
    return this.fail(failure);
  }

  private errorInfo(error: unknown, retryable: boolean): JobErrorInfo {
    const { job, redact } = this.claimed;
    return toJobErrorInfo(
      error,
      { ...this.ids, jobName: job.jobName, attempt: this.attempt },
      { redact, retryable },
    );
  }

  /** Makes the end's one write (none for `cancelled` and `lost`); undefined when a `short` write failed. */
  private async record(end: AttemptEnd): Promise<FinishOutcome | undefined> {
    const { writes } = this.claimed;
    const row = rowOf(end);
    const write = row.write;
    if (write === null) return undefined;
    // The end write stores the attempt span's traceparent (the completion function links to it).
    const owned = this.traceparent === null ? this.owned : { ...this.owned, traceparent: this.traceparent };
    if (row.timing === 'queued') {
      const written = await persist(() => this.monitor.exclusive(() => write(writes, owned, end)));
      if (written === 'recorded') this.measure(end);
      return written;
    }
    try {
      // Not queued behind activity writes (monitor.exclusive): this must fit in the SIGTERM grace.
      const written = await persist(() => write(writes, owned, end), 'short');
      if (written === 'recorded') this.measure(end);
      return written;
    } catch (error) {
      this.logger.error(
        { err: error },
        'Could not record the interruption: the sweeper will find the job by its stale heartbeat.',
      );
      return undefined;
    }
  }

  /** The metrics' `e11.job.name` and `cloud.region`. */
  private point(): { jobName: string; region: string | undefined } {
    return { jobName: this.claimed.job.jobName, region: this.claimed.region };
  }

  /**
   * The metrics of a recorded end: the attempt it closed (`finishedAt − startedAt`, the next attempt
   * starting then) and, when the job is now Completed or Errored, the job's end.
   */
  private measure(end: AttemptEnd): void {
    if (end.kind === 'cancelled' || end.kind === 'lost') return;
    const at = this.clock.now();
    const durationMs = at - this.attemptStartedMs;
    this.attemptStartedMs = at;
    recordAttemptDuration('@e11/runner', { ...this.point(), status: attemptStatus(end), durationMs });
    if (end.kind === 'complete') recordJobsEnded('@e11/runner', { ...this.point(), status: 'Completed' });
    if (end.kind === 'fail-permanent' || end.kind === 'fail-interrupted') {
      const deadLettered = end.kind === 'fail-interrupted' || end.deadLettered;
      recordJobsEnded('@e11/runner', { ...this.point(), status: 'Errored', deadLettered });
    }
  }

  /** What the task reports for an end, given how its write went. */
  private report(end: AttemptEnd, written: FinishOutcome | undefined): ExecuteJobResult {
    const row = rowOf(end);
    const status = row.write === null || written === 'recorded' ? row.status : undefined;
    return {
      ...this.ids,
      exitCode: row.exitCode,
      outcome: row.outcome,
      ...(status === undefined ? {} : { status }),
      attempt: this.attempt,
    };
  }

  /** Records `end`; once it is recorded (not lost), logs with `note` and reports it. */
  private async finish(end: AttemptEnd, note: () => void): Promise<ExecuteJobResult> {
    const written = await this.record(end);
    if (written === 'lost') return this.lost();
    note();
    return this.report(end, written);
  }

  /**
   * The job was cancelled or taken over: nothing is written, the new owner or the canceller decides.
   * Exit 0 either way: a non-zero exit makes Cloud Run retry a task whose job is not its to run.
   */
  private stopped(): ExecuteJobResult {
    const reason = this.cancelled.signal.reason as E11Error;
    this.logger.warn(reason.message);
    return this.report({ kind: reason.code === ErrorCode.Cancelled ? 'cancelled' : 'lost' }, undefined);
  }

  /** A write found the job no longer ours. */
  private lost(): ExecuteJobResult {
    if (this.cancelled.signal.aborted) return this.stopped();
    this.logger.warn(
      'The outcome was not stored: this task no longer owns the job (taken over or ended elsewhere).',
    );
    return this.report({ kind: 'lost' }, undefined);
  }

  /** Ends the job Errored without retry: bad params, a class that cannot be built, an unstorable result. */
  private failPermanently(error: unknown): Promise<ExecuteJobResult> {
    const info = this.errorInfo(error, false);
    return this.finish({ kind: 'fail-permanent', error: info, outcome: 'Errored', deadLettered: false }, () =>
      this.logger.error({ err: error }, messageOf(error)),
    );
  }

  /** SIGTERM: give the job back while attempts remain (Cloud Run's task retry or the sweeper relaunches it). */
  private interrupted(): Promise<ExecuteJobResult> {
    const reason: unknown =
      this.claimed.signal?.reason ??
      new E11Error(ErrorCode.Interrupted, 'The task was stopped.', { retryable: true });
    const info = this.errorInfo(reason, true);
    const last = this.attemptsUsed >= this.claimed.policy.maxAttempts;
    return this.finish({ kind: last ? 'fail-interrupted' : 'release-interrupted', error: info }, () =>
      this.logger.warn(
        `Interrupted (${info.message}); ${last ? 'no attempts left: dead-lettered' : 'released for a relaunch'}.`,
      ),
    );
  }

  /** Stores a successful attempt's result; a result Firestore cannot hold fails the job instead. */
  private async complete(value: unknown, elapsedMs: number): Promise<ExecuteJobResult> {
    let result: unknown;
    try {
      result = toStoredJson(value, 'result');
    } catch (error) {
      return this.failPermanently(error);
    }
    let written: FinishOutcome | undefined;
    try {
      written = await this.record({ kind: 'complete', result });
    } catch (error) {
      if (isRetryableGrpcError(error)) throw error;
      // Firestore refused the value itself (e.g. nested arrays): the job fails, it does not hang.
      return this.failPermanently(
        new E11Error(ErrorCode.JobFailed, `The job's result could not be stored: ${messageOf(error)}`),
      );
    }
    if (written === 'lost') return this.lost();
    this.logger.info({ elapsedMs }, `Attempt ${this.attempt} completed.`);
    return this.report({ kind: 'complete', result }, written);
  }

  /** The job ignored its AbortSignal: it cannot be retried in this process. Hand it to a fresh one. */
  private hung({ error, outcome, retryable }: Failure): Promise<ExecuteJobResult> {
    const { policy, env } = this.claimed;
    const last = this.attemptsUsed >= policy.maxAttempts || !retryable;
    const info = this.errorInfo(error, retryable);
    const end: AttemptEnd = last
      ? { kind: 'fail-permanent', error: info, outcome, deadLettered: retryable }
      : { kind: 'release-hung', error: info, outcome };
    return this.finish(end, () =>
      this.logger.error(
        { err: error },
        `Attempt ${this.attempt} did not stop within ${env.terminationGraceMs} ms of its abort signal (${messageOf(error)}); ` +
          (last ? 'the job is Errored.' : 'the job is released for a fresh task.'),
      ),
    );
  }

  /** A retryable failure with attempts left: record it, wait the backoff, then `retry`. */
  private async retry({ error, outcome }: Failure): Promise<ExecuteJobResult | 'retry'> {
    const { policy, env } = this.claimed;
    const written = await this.record({
      kind: 'fail-retry',
      error: this.errorInfo(error, true),
      outcome,
      executionName: env.executionName,
    });
    if (written === 'lost') return this.lost();
    const wait = retryDelayMs(policy, this.attemptsUsed);
    this.logger.warn({ err: error, retryInMs: wait }, `Attempt ${this.attempt} failed; retrying.`);
    this.attempt++;
    this.attemptsUsed++;
    try {
      await (this.claimed.wait ?? delay)(wait, AbortSignal.any([this.cancelled.signal, ...this.outside]));
    } catch {
      return this.cancelled.signal.aborted ? this.stopped() : this.interrupted();
    }
    return 'retry';
  }

  /** A failure that is not retried: Errored, dead-lettered when retryable but out of attempts. */
  private fail({ error, outcome, retryable, elapsedMs }: Failure): Promise<ExecuteJobResult> {
    const { policy } = this.claimed;
    const exhausted = retryable && this.attemptsUsed >= policy.maxAttempts;
    const end: AttemptEnd = {
      kind: 'fail-permanent',
      error: this.errorInfo(error, retryable),
      outcome,
      deadLettered: exhausted,
    };
    return this.finish(end, () =>
      this.logger.error(
        { err: error, code: (error as { code?: unknown } | null)?.code, elapsedMs },
        `Attempt ${this.attempt} failed${exhausted ? ' and no attempts are left (dead-lettered)' : ''}: ${messageOf(error)}`,
      ),
    );
  }
}

/** How an end closes its attempt record (its `outcome`). */
function attemptStatus(end: Exclude<AttemptEnd, { kind: 'cancelled' | 'lost' }>): AttemptStatus {
  if (end.kind === 'complete') return 'Completed';
  if (end.kind === 'release-interrupted' || end.kind === 'fail-interrupted') return 'Interrupted';
  return end.outcome;
}

/** A failed attempt: what it threw (or the timeout's reason) and how the attempt record is closed. */
interface Failure {
  error: unknown;
  outcome: FailureOutcome;
  /** Whether the policy would retry it were attempts left (then running out dead-letters the job). */
  retryable: boolean;
  elapsedMs: number;
}
