import {
  type ClientOptions,
  type Clock,
  createFirestore,
  createStore,
  ErrorCode,
  isE11Error,
  isRetryableGrpcError,
  type JobDoc,
  type Logger,
  parseTaskEnv,
  regionFromEnv,
  TaskEnvName,
} from '@e11/core';
import type { Firestore } from '@google-cloud/firestore';

import { activeSpanContext } from './attempt-trace.js';
import { claimForTask } from './claim-for-task.js';
import { addDeclaredKeys } from './declared-keys.js';
import { findTaskOrchestration, readJobForTask } from './find-job.js';
import type { E11Job, JobClass } from './job-name.js';
import { firestoreJobWrites } from './job-writes.js';
import { createRunnerLogger, type RunnerLogger } from './logger.js';
import { ExitCode, type ExecuteJobResult } from './outcome.js';
import { createRedactor } from './redact.js';
import { refuseJobName, refuseUnknownClass } from './refuse-job.js';
import { buildRegistry } from './registry.js';
import { resolvePolicy } from './retry-policy.js';
import { runAttempts } from './run-attempts.js';

/** Options of {@link executeJob}. */
export interface ExecuteJobOptions {
  /** The job classes of this image; the one whose `@JobName` equals JOB_NAME runs. */
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
  const log = options.logger ?? createRunnerLogger({ env: options.env, traceContext: activeSpanContext });
  const { logger } = log;
  let firestore: Firestore | undefined = options.firestore;
  const ownsFirestore = firestore === undefined;
  try {
    const registry = buildRegistry(options.classes);
    const rawEnv = options.env ?? process.env;
    const env = parseTaskEnv(rawEnv);
    const ids = (job?: JobDoc) => ({ orchestrationId: env.orchestrationId, jobId: job?.id ?? env.jobId });
    log.setLabels({
      orchestrationId: env.orchestrationId,
      jobName: env.jobName,
      ...(env.jobId ? { jobId: env.jobId } : {}),
    });
    firestore ??= createFirestore({
      projectId: rawEnv.GOOGLE_CLOUD_PROJECT,
      emulatorHost: rawEnv.FIRESTORE_EMULATOR_HOST,
      databaseId: env.databaseId,
    });
    if (env.databaseId !== undefined && firestore.databaseId !== env.databaseId) {
      logger.error(
        `${TaskEnvName.firestoreDatabase} is ${env.databaseId} but the runner's Firestore client uses ${firestore.databaseId}.`,
      );
      return { ...ids(), exitCode: ExitCode.Config, outcome: 'invalid' };
    }
    const store = createStore({ firestore, collectionPrefix: env.collectionPrefix, clock: options.clock });
    const orchestration = await findTaskOrchestration(store, env, logger);
    if (!orchestration) return { ...ids(), exitCode: ExitCode.Config, outcome: 'invalid' };
    const definition = registry.get(env.jobName);
    // The stored union (kick-off and class keys), plus the class's own for a kick-off by an unknown name.
    const sensitiveKeys = [...orchestration.sensitiveKeys, ...(definition?.options.sensitiveKeys ?? [])];
    const policy = resolvePolicy(orchestration.policy, definition?.options ?? {});
    if (options.signal?.aborted || orchestration.jobName !== env.jobName) {
      const job = await readJobForTask(store, env, orchestration, logger);
      if (!job) return { ...ids(), exitCode: ExitCode.Config, outcome: 'invalid' };
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
    const claim = await claimForTask({ store, env, orchestration, maxAttempts: policy.maxAttempts, logger });
    if (!claim.claimed) return claim.result;
    const { job } = claim;
    log.setLabels({ jobId: job.id, attempt: String(claim.attempt) });
    const redact = createRedactor(job.params, sensitiveKeys);
    log.setRedactor(redact);
    if (!definition) {
      return await refuseUnknownClass({
        store,
        job,
        claimId: claim.claimId,
        attempt: claim.attempt,
        jobName: env.jobName,
        known: [...registry.keys()],
        redact,
        log: logger,
      });
    }
    return await runAttempts({
      writes: firestoreJobWrites(store),
      env,
      job: claim.job,
      version: { current: claim.version },
      definition,
      policy,
      claimId: claim.claimId,
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
      clock: options.clock,
      region: regionFromEnv(rawEnv),
    });
  } catch (error) {
    return resultOfError(error, logger);
  } finally {
    if (ownsFirestore) await firestore?.terminate().catch(() => undefined);
  }
}

/**
 * What a task reports for an error no step handled: Firestore unreachable past the retry budget
 * (exit 1; the sweeper finds a claimed job by its stale heartbeat), a configuration error (bad env,
 * duplicate or malformed @JobName: exit 2), anything else (exit 1).
 */
function resultOfError(error: unknown, logger: Logger): ExecuteJobResult {
  const config =
    isE11Error(error, ErrorCode.InvalidTaskEnv) ||
    isE11Error(error, ErrorCode.DuplicateJobName) ||
    isE11Error(error, ErrorCode.UnknownJobName) ||
    isE11Error(error, ErrorCode.InvalidJobName);
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (isRetryableGrpcError(error)) {
    logger.error(
      { err: error, code },
      `Firestore stayed unreachable (${message}); nothing more was recorded. A job this task claimed is found by its stale heartbeat and relaunched by the sweeper.`,
    );
    return { exitCode: ExitCode.Failed, outcome: 'failed' };
  }
  logger.error({ err: error, code }, message);
  return { exitCode: config ? ExitCode.Config : ExitCode.Failed, outcome: 'invalid' };
}
