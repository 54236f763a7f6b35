import { randomUUID } from 'node:crypto';

import {
  addSensitiveKeys,
  claimJob,
  type ClientOptions,
  type Clock,
  createFirestore,
  createStore,
  E11Error,
  ErrorCode,
  failJob,
  failPendingJob,
  findOrchestration,
  isE11Error,
  isRetryableGrpcError,
  type JobDoc,
  JobStatus,
  loadJob,
  loadJobByIndex,
  jobIdFor,
  assertJobId,
  assertOrchestrationId,
  type Logger,
  type OrchestrationDoc,
  type Store,
} from '@e11/core';
import type { Firestore } from '@google-cloud/firestore';

import { toJobErrorInfo } from './error-info.js';
import type { E11Job, JobClass } from './job-name.js';
import { createRunnerLogger, type RunnerLogger } from './logger.js';
import { ExitCode, type ExecuteJobResult } from './outcome.js';
import { persist } from './persist.js';
import { createRedactor } from './redact.js';
import { buildRegistry } from './registry.js';
import { resolvePolicy } from './retry-policy.js';
import { runAttempts } from './run-attempts.js';
import { parseTaskEnv } from './task-env.js';

/** Options of {@link executeJob}. */
export interface ExecuteJobOptions {
  /** The job classes of this image; the one whose @JobName equals JOB_NAME runs. */
  classes: readonly JobClass[];
  /** The task environment. @default process.env */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * The Firestore client; executeJob leaves a given client open. @default a client for the env's
   * GOOGLE_CLOUD_PROJECT (FIRESTORE_EMULATOR_HOST honoured), terminated when the job is done
   */
  firestore?: Firestore;
  /** Aborts the job from outside: runE11Job wires SIGTERM/SIGINT to it. */
  signal?: AbortSignal;
  /** @default a Cloud Logging JSON logger on stdout (createRunnerLogger) */
  logger?: RunnerLogger;
  /** Time source of the stored timestamps. @default the system clock */
  clock?: Clock;
  /** Builds a job instance (e.g. from a DI container). @default `new Class()` */
  create?: (target: JobClass) => E11Job<unknown, unknown>;
  /**
   * How the heartbeat watchdog thread creates its own Firestore client while a job blocks the event
   * loop (a client cannot cross threads). @default the env's GOOGLE_CLOUD_PROJECT and
   * FIRESTORE_EMULATOR_HOST, else the process environment's — what runE11Job's own client uses
   */
  watchdogClient?: ClientOptions;
}

/**
 * The runner's core, in-process: reads the task env, finds the job document and its class, claims
 * the job (a re-delivered task never runs it twice), validates params, runs attempts with heartbeat,
 * progress, checkpoints, timeout and in-task retries, and records the outcome. It installs no signal
 * handlers and never exits the process (runE11Job does both), so it also serves benchmarks and tests.
 */
export async function executeJob(options: ExecuteJobOptions): Promise<ExecuteJobResult> {
  const log = options.logger ?? createRunnerLogger();
  const { logger } = log;
  let firestore: Firestore | undefined = options.firestore;
  const ownsFirestore = firestore === undefined;
  try {
    const registry = buildRegistry(options.classes);
    const env = parseTaskEnv(options.env ?? process.env);
    const ids = (job?: JobDoc) => ({ orchestrationId: env.orchestrationId, jobId: job?.id ?? env.jobId });
    log.setLabels({
      orchestrationId: env.orchestrationId,
      jobName: env.jobName,
      ...(env.jobId ? { jobId: env.jobId } : {}),
    });
    const rawEnv = options.env ?? process.env;
    firestore ??= createFirestore({
      projectId: rawEnv.GOOGLE_CLOUD_PROJECT,
      emulatorHost: rawEnv.FIRESTORE_EMULATOR_HOST,
      databaseId: env.databaseId,
    });
    if (env.databaseId !== undefined && firestore.databaseId !== env.databaseId) {
      logger.error(
        `E11_FIRESTORE_DATABASE is ${env.databaseId} but the runner's Firestore client uses ${firestore.databaseId}.`,
      );
      return { ...ids(), exitCode: ExitCode.Config, outcome: 'invalid' };
    }
    const store = createStore({ firestore, collectionPrefix: env.collectionPrefix, clock: options.clock });
    // The orchestration is read first (policy, sensitive keys, the job name); the job itself is read
    // by the claim, which decides from it: no read of the job before (firestore-ops.md).
    const orchestration = await persist(() => findOrchestration(store, env.orchestrationId));
    if (!orchestration) {
      logger.error(
        `Orchestration ${env.orchestrationId} does not exist in ${store.collections.orchestrationsId} of database ${firestore.databaseId}: check ORCHESTRATION_ID, E11_COLLECTION_PREFIX, E11_FIRESTORE_DATABASE and the project.`,
      );
      return { ...ids(), exitCode: ExitCode.Config, outcome: 'invalid' };
    }
    const jobIndex = env.jobId === undefined ? (env.jobIndex ?? 0) : undefined;
    const unknownJob = (error: E11Error): ExecuteJobResult => {
      const message =
        jobIndex === undefined
          ? error.message
          : `Orchestration ${env.orchestrationId} has no job with index ${jobIndex}.`;
      logger.error(`${message} Check JOB_ID (or CLOUD_RUN_TASK_INDEX in array mode).`);
      return { ...ids(), exitCode: ExitCode.Config, outcome: 'invalid' };
    };
    /** The job as it stands, for the paths that end before a claim (a read they alone pay). */
    const readJob = () =>
      jobIndex === undefined
        ? loadJob(store, env.orchestrationId, env.jobId as string, {
            orchestration,
            indexHint: env.jobIndexHint,
          })
        : loadJobByIndex(store, env.orchestrationId, jobIndex, { orchestration });
    const definition = registry.get(env.jobName);
    // The stored union (kick-off and class keys), plus the class's own for a kick-off by an unknown name.
    const sensitiveKeys = [...orchestration.sensitiveKeys, ...(definition?.options.sensitiveKeys ?? [])];
    const policy = resolvePolicy(orchestration.policy, definition?.options ?? {});
    if (options.signal?.aborted || orchestration.jobName !== env.jobName) {
      let job: JobDoc;
      try {
        job = await persist(readJob);
      } catch (error) {
        if (!isE11Error(error, ErrorCode.UnknownJob)) throw error;
        return unknownJob(error);
      }
      log.setLabels({ jobId: job.id });
      const redact = createRedactor(job.params, sensitiveKeys);
      log.setRedactor(redact);
      if (options.signal?.aborted) {
        // Stopped before the job was claimed: nothing to record, the job stays as it was.
        logger.warn('The task was stopped before it claimed the job; nothing was run.');
        return { ...ids(job), exitCode: ExitCode.Interrupted, outcome: 'interrupted', status: job.status };
      }
      // A job's name is its orchestration's: the job is refused as its document would say.
      return await refuseJobName({ store, job, jobName: env.jobName, redact, log: logger });
    }
    // Before the claim: once any job of the orchestration shows a claim, its class's keys are stored.
    await addDeclaredKeys(store, orchestration, definition?.options.sensitiveKeys ?? [], logger);
    const claimId = randomUUID();
    let claim: Awaited<ReturnType<typeof claimJob>>;
    try {
      assertOrchestrationId(env.orchestrationId);
      if (jobIndex === undefined) assertJobId(env.orchestrationId, env.jobId);
      const jobId = env.jobId ?? jobIdFor(env.orchestrationId, jobIndex ?? 0);
      claim = await persist(() =>
        claimJob(store, {
          orchestrationId: env.orchestrationId,
          jobId,
          claim: {
            id: claimId,
            executionName: env.executionName,
            taskIndex: env.taskIndex,
            taskAttempt: env.taskAttempt,
          },
          maxAttempts: policy.maxAttempts,
          heartbeatTimeoutMs: orchestration.policy.heartbeatTimeoutMs,
          orchestration,
          indexHint: jobIndex ?? env.jobIndexHint,
          // An array task's first delivery: its job most likely has no document yet.
          createFirst: jobIndex !== undefined && (env.taskAttempt ?? 0) === 0,
        }),
      );
    } catch (error) {
      if (!isE11Error(error, ErrorCode.UnknownJob)) throw error;
      return unknownJob(error);
    }
    const job = claim.job;
    log.setLabels({ jobId: job.id });
    const redact = createRedactor(job.params, sensitiveKeys);
    log.setRedactor(redact);
    const found = { ...ids(job), status: claim.job.status, attempt: claim.job.attempt };
    if (claim.outcome === 'terminal') {
      logger.info(`Job already ended ${claim.job.status}: this delivery does nothing.`);
      // Completed or Cancelled: nothing is wrong, and a non-zero exit would make Cloud Run retry the task.
      const nothingToDo =
        claim.job.status === JobStatus.Completed || claim.job.status === JobStatus.Cancelled;
      const exitCode = nothingToDo ? ExitCode.Ok : ExitCode.Failed;
      return { ...found, exitCode, outcome: 'duplicate' };
    }
    if (claim.outcome === 'running-elsewhere') {
      logger.info('Another live task is running this job (fresh heartbeat): this delivery does nothing.');
      return { ...found, exitCode: ExitCode.Ok, outcome: 'running-elsewhere' };
    }
    if (claim.outcome === 'exhausted') {
      logger.error('The previous attempt died and no attempts are left: the job is dead-lettered.');
      return { ...found, exitCode: ExitCode.Failed, outcome: 'exhausted' };
    }
    log.setLabels({ attempt: String(claim.attempt) });

    if (!definition) {
      const message =
        `No job class is named '${env.jobName}' in this image (known: ${[...registry.keys()].join(', ') || 'none'}): ` +
        `check the @JobName of your classes and the job name passed to kickOffJob.`;
      const error = new E11Error(ErrorCode.UnknownJobName, message, { context: { jobName: env.jobName } });
      const owned = { orchestrationId: job.orchestrationId, jobId: job.id, claimId };
      const info = toJobErrorInfo(
        error,
        { ...owned, jobName: job.jobName, attempt: claim.attempt },
        { redact, retryable: false },
      );
      const written = await persist(() =>
        failJob(store, { ...owned, error: info, outcome: 'Errored', final: true, deadLettered: false }),
      );
      logger.error(message);
      const status = written === 'recorded' ? JobStatus.Errored : undefined;
      return { ...ids(job), exitCode: ExitCode.Config, outcome: 'invalid', attempt: claim.attempt, status };
    }
    return await runAttempts({
      store,
      env,
      job: claim.job,
      version: { current: claim.version },
      definition,
      policy,
      claimId,
      attempt: claim.attempt,
      heartbeatTimeoutMs: orchestration.policy.heartbeatTimeoutMs,
      client: options.watchdogClient ?? {
        projectId: rawEnv.GOOGLE_CLOUD_PROJECT,
        emulatorHost: rawEnv.FIRESTORE_EMULATOR_HOST,
        databaseId: firestore.databaseId,
      },
      log,
      redact,
      signal: options.signal,
      create: options.create,
    });
  } catch (error) {
    const config =
      isE11Error(error, ErrorCode.InvalidTaskEnv) ||
      isE11Error(error, ErrorCode.DuplicateJobName) ||
      isE11Error(error, ErrorCode.UnknownJobName) ||
      isE11Error(error, ErrorCode.InvalidJobName);
    const code = (error as { code?: unknown } | null)?.code;
    const message = error instanceof Error ? error.message : String(error);
    if (isRetryableGrpcError(error)) {
      logger.error(
        { code },
        `Firestore stayed unreachable (${message}); nothing more was recorded. A job this task claimed is found by its stale heartbeat and relaunched by the sweeper.`,
      );
      return { exitCode: ExitCode.Failed, outcome: 'failed' };
    }
    logger.error({ code }, message);
    return { exitCode: config ? ExitCode.Config : ExitCode.Failed, outcome: 'invalid' };
  } finally {
    if (ownsFirestore) await firestore?.terminate().catch(() => undefined);
  }
}

/**
 * Stores the keys the job class declares sensitive on the orchestration when its kick-off did not
 * (a kick-off by a name the backend registered no class for): every reader redacts with the stored
 * list. Written before the claim, so a reader that sees a claimed job and then reads the orchestration
 * gets the keys; at most once per task start, and only when a key is missing (as read by this task),
 * so a large orchestration's tasks do not all write its document. A failure is logged, not fatal: this task
 * redacts its own outputs anyway.
 */
async function addDeclaredKeys(
  store: Store,
  orchestration: OrchestrationDoc,
  declared: readonly string[],
  logger: Logger,
): Promise<void> {
  try {
    const added = await persist(() => addSensitiveKeys(store, orchestration, declared));
    if (added.length > 0)
      logger.info({ keys: added }, "Stored the job class's sensitive keys on the orchestration.");
  } catch (error) {
    logger.warn(
      { err: error instanceof Error ? error.message : String(error) },
      "Could not store the job class's sensitive keys on the orchestration; readers may show them unredacted.",
    );
  }
}

/**
 * A task whose JOB_NAME is not its job's (a wrong image, a mis-mapped job, a hand-made env): it must
 * not run the job nor pass silently, whatever the job's state, so it refuses before claiming with
 * E11_JOB_NAME_MISMATCH (exit 2). A job still `Pending` is ended `Errored` with that error (not
 * retryable) so the mistake shows; a job that has ended, or that a task is running, is left as it is:
 * this task has no claim on it, and a correct task may be running it.
 */
async function refuseJobName(input: {
  store: Store;
  job: JobDoc;
  jobName: string;
  redact: (text: string) => string;
  log: Logger;
}): Promise<ExecuteJobResult> {
  const { store, job } = input;
  const message = `JOB_NAME is '${input.jobName}' but job ${job.id} belongs to '${job.jobName}': the task was started with the wrong env or image.`;
  const ids = { orchestrationId: job.orchestrationId, jobId: job.id };
  const error = new E11Error(ErrorCode.JobNameMismatch, message, {
    context: { ...ids, jobName: input.jobName },
  });
  let ended = false;
  if (job.status === JobStatus.Pending) {
    const info = toJobErrorInfo(
      error,
      { ...ids, jobName: job.jobName, attempt: job.attempt },
      { redact: input.redact, retryable: false },
    );
    ended = await persist(() => failPendingJob(store, { ...ids, error: info, known: job }));
  }
  input.log.error({ code: error.code }, message);
  return {
    ...ids,
    exitCode: ExitCode.Config,
    outcome: 'invalid',
    status: ended ? JobStatus.Errored : job.status,
  };
}
