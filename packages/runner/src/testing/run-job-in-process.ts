import { randomUUID } from 'node:crypto';

import {
  type Clock,
  DEFAULTS,
  defaultJobPolicy,
  type Duration,
  E11Error,
  ErrorCode,
  type JobErrorInfo,
  type JobParams,
  type JobStatus,
  parseTaskEnv,
  systemClock,
  TaskEnvName,
  toMs,
  validateParamsList,
} from '@e11/core';
import { Timestamp } from '@google-cloud/firestore';

import type { JobContext } from '../context.js';
import type { E11Job, JobClass } from '../job-name.js';
import { createRunnerLogger, type LogLabels } from '../logger.js';
import type { ExecuteOutcome, ExitCodeValue } from '../outcome.js';
import { createRedactor } from '../redact.js';
import { buildRegistry } from '../registry.js';
import { resolvePolicy } from '../retry-policy.js';
import { runAttempts } from '../run-attempts.js';
import { toStoredJson } from '../stored-json.js';

import { MemoryJobWrites, type RecordedAttempt, type RecordedProgress } from './memory-job-writes.js';

/** Options of {@link runJobInProcess}; each is optional. */
export interface RunJobInProcessOptions<C = unknown> {
  /**
   * Attempts allowed, as a kick-off's `retry.maxAttempts` sets them (it overrides `@JobName`'s
   * `maxAttempts`). @default the class's `maxAttempts`, else DEFAULTS.maxAttempts (3)
   */
  maxAttempts?: number;
  /** Per-attempt time limit (`'5m'` or ms), as a kick-off's `timeout` sets it. @default the class's `timeout`, else none */
  timeout?: Duration;
  /** What a previous attempt saved: the first attempt receives it as `ctx.checkpoint`. @default none */
  checkpoint?: C;
  /**
   * Stops the run from outside, as SIGTERM stops a task: the job's signal aborts with this signal's
   * reason and the run ends `Pending` (released for a relaunch) or, on the last attempt, `Errored`.
   */
  signal?: AbortSignal;
  /** Keys the kick-off declares sensitive, added to the class's `sensitiveKeys`. @default [] */
  sensitiveKeys?: string[];
  /**
   * How the backoff before a retry is waited (the delay itself comes from the class's `backoff`, as in
   * a task, and is recorded in `attempts[].retryInMs`). Pass `(ms, signal) => delay(ms, signal)` to
   * wait for real. @default no waiting
   */
  wait?: (ms: number, signal: AbortSignal) => Promise<void>;
  /**
   * Minimum gap between two progress writes. A task uses DEFAULTS.progressIntervalMs (1 s); 0 writes
   * each value unless a write is still in flight (then the latest pending one follows). @default 0
   */
  progressIntervalMs?: number;
  /**
   * How long a job that ignores its aborted signal gets to settle before the attempt is recorded as
   * failed (E11_TERMINATION_GRACE_MS in a task). @default DEFAULTS.terminationGraceMs (8 s)
   */
  terminationGraceMs?: number;
  /** Builds the job instance (e.g. from a DI container, with test doubles of your own services). @default `new Class()` */
  create?: (target: JobClass) => E11Job<unknown, unknown>;
  /** Time source of the recorded attempt and progress times. @default the system clock */
  clock?: Clock;
  /** `ctx.orchestrationId`. @default `'test-orchestration'` */
  orchestrationId?: string;
  /** `ctx.jobId`. @default `'job-0'` */
  jobId?: string;
  /** The lowest level recorded in `logs` (`debug`, `info`, `warn`, `error`). @default `'debug'` */
  logLevel?: string;
}

/** One log line of the run: pino's Cloud Logging JSON, with `severity` turned back into a pino level. */
export interface RecordedLog {
  level: 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  message: string;
  /** The line's Cloud Logging labels: orchestrationId, jobId, jobName, attempt. */
  labels: LogLabels;
  /**
   * Any other field the line carries (e.g. `{ rows: 10 }` from `ctx.log.info({ rows: 10 }, '...')`,
   * `serviceContext`, and `err` with `stack_trace` for a logged Error); not `timestamp` nor `insertId`.
   */
  [field: string]: unknown;
}

/** How an in-process run ended, with everything the runner recorded along the way. */
export interface InProcessRun<R = unknown, C = unknown> {
  /**
   * The job's status as the task left it: `Completed`, `Errored` (failed for good, or out of
   * attempts), `Pending` (stopped by `signal`, or a hung attempt, with attempts left: a relaunch would
   * take it over).
   */
  status: JobStatus;
  /** How the task ended (`completed`, `failed`, `interrupted`, ...), as `executeJob` reports it. */
  outcome: ExecuteOutcome;
  /** The exit code a task would exit with. */
  exitCode: ExitCodeValue;
  /** The stored result (JSON, `undefined` stored as null), or null when the job did not complete. */
  result: R | null;
  /** The stored error of the last failed attempt (redacted, bounded), or null. */
  error: JobErrorInfo | null;
  /** Errored because retryable failures used up the attempts. */
  deadLettered: boolean;
  /** The attempt history, first attempt first. */
  attempts: RecordedAttempt[];
  /** Every progress write, in order (the completion's own ratio 1 is not listed). */
  progress: RecordedProgress[];
  /** Every checkpoint saved with `ctx.saveCheckpoint`, in order, as stored (JSON). */
  checkpoints: C[];
  /** The checkpoint a next attempt would receive: the latest saved, else the one the run started with. */
  checkpoint: C | undefined;
  /** Every log line the runner and the job wrote, redacted as in a task. */
  logs: RecordedLog[];
}

type RunOf<T extends JobClass> = InstanceType<T>['run'];
/** The params type of a job class's `run` (any params object when `run` declares none). */
type ParamsOf<T extends JobClass> = Parameters<RunOf<T>> extends [] ? JobParams : Parameters<RunOf<T>>[0];
/** The result type of a job class's `run`. */
type ResultOf<T extends JobClass> = Awaited<ReturnType<RunOf<T>>>;
/** The checkpoint type of a job class's context. */
type CheckpointOf<T extends JobClass> =
  Parameters<RunOf<T>>[1] extends JobContext<infer _P, infer C> ? C : unknown;

const LEVELS: Record<string, RecordedLog['level']> = {
  DEBUG: 'debug',
  INFO: 'info',
  WARNING: 'warn',
  ERROR: 'error',
  CRITICAL: 'fatal',
};

/**
 * Runs a `@JobName` class's `run()` in this process, the way a Cloud Run task runs it, with the
 * runner's own attempt loop and job context, but with the job's writes kept in memory instead of
 * Firestore: no emulator, no Java, no network. Schema validation (E11_VALIDATION_FAILED naming the
 * field), attempts and `retryOn`, backoff (not waited by default), the per-attempt timeout (the
 * signal aborts with E11_TIMEOUT), `PermanentError`/`TransientError`, checkpoints and resume,
 * redaction of sensitive params in logs and stored errors, and the result's JSON and size limits all
 * behave as in a task. Resolves once the task's part would end; never rejects for a failure of the
 * job itself (see `status` and `error`). Rejects with E11_UNKNOWN_JOB_NAME for a class without
 * `@JobName`, E11_INVALID_PARAMS for params a kick-off would refuse, and E11_INVALID_OPTIONS for a bad
 * option.
 *
 * ```ts
 * const run = await runJobInProcess(ProcessBatchJob, { file: 'a.csv', rows: 10 }, { maxAttempts: 2 });
 * expect(run.status).toBe('Completed');
 * expect(run.result).toEqual({ written: 10 });
 * ```
 */
export async function runJobInProcess<T extends JobClass>(
  target: T,
  params: ParamsOf<T>,
  options: RunJobInProcessOptions<CheckpointOf<T>> = {},
): Promise<InProcessRun<ResultOf<T>, CheckpointOf<T>>> {
  const [definition] = buildRegistry([target]).values();
  if (!definition) throw new E11Error(ErrorCode.UnknownJobName, 'No job class was given.');
  validateParamsList([params], { maxJobs: 1, maxParamsBytes: DEFAULTS.maxParamsBytes });
  const stored = (JSON.parse(JSON.stringify([params])) as Record<string, unknown>[])[0] ?? {};
  const { maxAttempts, timeout } = options;
  if (maxAttempts !== undefined && (!Number.isInteger(maxAttempts) || maxAttempts < 1)) {
    throw new E11Error(ErrorCode.InvalidOptions, 'maxAttempts must be a positive integer.', {
      context: { path: 'maxAttempts' },
    });
  }
  const jobTimeoutMs = timeout === undefined ? null : toMs(timeout, 'timeout');
  if (jobTimeoutMs !== null && jobTimeoutMs <= 0) {
    throw new E11Error(ErrorCode.InvalidOptions, 'timeout must be positive.', {
      context: { path: 'timeout' },
    });
  }
  const grace = options.terminationGraceMs;
  if (grace !== undefined && (!Number.isInteger(grace) || grace <= 0)) {
    throw new E11Error(ErrorCode.InvalidOptions, 'terminationGraceMs must be a positive integer.', {
      context: { path: 'terminationGraceMs' },
    });
  }
  let checkpoint: unknown;
  try {
    checkpoint =
      options.checkpoint === undefined ? undefined : toStoredJson(options.checkpoint, 'checkpoint');
  } catch (error) {
    throw new E11Error(ErrorCode.InvalidOptions, (error as Error).message, {
      cause: error,
      context: { path: 'checkpoint' },
    });
  }
  const orchestrationId = options.orchestrationId ?? 'test-orchestration';
  const jobId = options.jobId ?? 'job-0';
  const env = parseTaskEnv({
    [TaskEnvName.jobName]: definition.name,
    [TaskEnvName.orchestrationId]: orchestrationId,
    [TaskEnvName.jobId]: jobId,
    [TaskEnvName.terminationGraceMs]: grace === undefined ? undefined : String(grace),
  });
  const policy = resolvePolicy(
    defaultJobPolicy({ maxAttempts: maxAttempts ?? null, jobTimeoutMs }),
    definition.options,
  );
  const redact = createRedactor(stored, [
    ...(options.sensitiveKeys ?? []),
    ...(definition.options.sensitiveKeys ?? []),
  ]);
  const logs: RecordedLog[] = [];
  const log = createRunnerLogger({
    level: options.logLevel ?? 'debug',
    service: definition.name,
    write: (line) => logs.push(parseLine(line)),
  });
  log.setLabels({ orchestrationId, jobName: definition.name, jobId, attempt: '1' });
  log.setRedactor(redact);
  const clock = options.clock ?? systemClock;
  const claimId = randomUUID();
  const writes = new MemoryJobWrites({ claimId, clock, checkpoint });
  const startedAt = Timestamp.fromMillis(clock.now());
  const report = await runAttempts({
    writes,
    env,
    job: {
      id: jobId,
      orchestrationId,
      jobName: definition.name,
      params: stored,
      checkpoint: checkpoint ?? null,
      attempts: [
        {
          attempt: 1,
          epoch: 1,
          startedAt,
          finishedAt: null,
          outcome: null,
          error: null,
          executionName: null,
        },
      ],
      attemptsDropped: { count: 0, epoch: 1, inEpoch: 0 },
      epoch: 1,
    },
    definition,
    policy,
    claimId,
    attempt: 1,
    heartbeatTimeoutMs: DEFAULTS.heartbeatTimeoutMs,
    log,
    redact,
    client: undefined,
    signal: options.signal,
    create: options.create,
    wait: async (ms, signal) => {
      writes.noteRetry(ms);
      if (options.wait) await options.wait(ms, signal);
      else signal.throwIfAborted();
    },
    progressIntervalMs: options.progressIntervalMs ?? 0,
    clock,
  });
  return {
    status: writes.status,
    outcome: report.outcome,
    exitCode: report.exitCode,
    result: writes.result as ResultOf<T> | null,
    error: writes.error,
    deadLettered: writes.deadLettered,
    attempts: writes.attempts,
    progress: writes.progress,
    checkpoints: writes.checkpoints as CheckpointOf<T>[],
    checkpoint: (writes.checkpoint ?? undefined) as CheckpointOf<T> | undefined,
    logs,
  };
}

/**
 * One pino line as a {@link RecordedLog}. A line whose redaction replaced a sensitive number (`"pin":7`
 * becomes `"pin":[REDACTED]`) is no longer JSON: it is kept whole as the message.
 */
function parseLine(line: string): RecordedLog {
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(line) as Record<string, unknown>;
  } catch {
    const severity = /"severity":"([A-Z]+)"/.exec(line)?.[1];
    return { level: LEVELS[severity ?? ''] ?? 'info', message: line.trimEnd(), labels: {} };
  }
  // The timestamp and insertId differ on every line; the numeric level is pino's own `level`.
  const {
    severity,
    message,
    timestamp: _timestamp,
    level: _level,
    'logging.googleapis.com/insertId': _insertId,
    'logging.googleapis.com/labels': labels,
    ...fields
  } = parsed;
  return {
    ...fields,
    level: LEVELS[String(severity)] ?? 'info',
    message: typeof message === 'string' ? message : '',
    labels: (labels as LogLabels | undefined) ?? {},
  };
}
