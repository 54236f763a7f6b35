import { randomUUID } from 'node:crypto';

import {
  assertJobId,
  assertOrchestrationId,
  claimJob,
  ErrorCode,
  isE11Error,
  type JobDoc,
  jobIdFor,
  type KnownVersion,
  type Logger,
  type OrchestrationDoc,
  recordJobsEnded,
  type Store,
  type TaskEnv,
} from '@e11/core';

import { logUnknownJob, taskJobIndex } from './find-job.js';
import { ExitCode, type ExecuteJobResult } from './outcome.js';
import { persist } from './persist.js';

/** This task's claim on its job, or what the task reports when there is nothing for it to run. */
export type TaskClaim =
  | { claimed: true; claimId: string; job: JobDoc; attempt: number; version: KnownVersion | undefined }
  | { claimed: false; job?: JobDoc; result: ExecuteJobResult };

/**
 * Claims the job for this task (a re-delivered task never runs it twice); the claim reads the job
 * itself, and an array task's first delivery creates the job's document from its params chunk without
 * reading it first. A claimed result carries the job's known version, so the task's later fenced
 * writes read nothing. When the claim is refused the task has nothing to do: no such job (exit 2), the
 * job had ended (exit 0 when Completed or Cancelled, 1 when Errored), another live task runs it
 * (exit 0), or a dead attempt was found with no attempts left (dead-lettered, exit 1). Each case is
 * logged once.
 */
export async function claimForTask(input: {
  store: Store;
  env: TaskEnv;
  orchestration: OrchestrationDoc;
  maxAttempts: number;
  logger: Logger;
}): Promise<TaskClaim> {
  const { store, env, orchestration, logger } = input;
  const claimId = randomUUID();
  const jobIndex = taskJobIndex(env);
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
        maxAttempts: input.maxAttempts,
        heartbeatTimeoutMs: orchestration.policy.heartbeatTimeoutMs,
        orchestration,
        indexHint: jobIndex ?? env.jobIndexHint,
        // An array task's first delivery: its job most likely has no document yet.
        createFirst: jobIndex !== undefined && (env.taskAttempt ?? 0) === 0,
      }),
    );
  } catch (error) {
    if (!isE11Error(error, ErrorCode.UnknownJob)) throw error;
    logUnknownJob(env, error.message, logger);
    const result: ExecuteJobResult = {
      orchestrationId: env.orchestrationId,
      jobId: env.jobId,
      exitCode: ExitCode.Config,
      outcome: 'invalid',
    };
    return { claimed: false, result };
  }
  if (claim.outcome === 'claimed') {
    return { claimed: true, claimId, job: claim.job, attempt: claim.attempt, version: claim.version };
  }
  const { job } = claim;
  const found = {
    orchestrationId: job.orchestrationId,
    jobId: job.id,
    status: job.status,
    attempt: job.attempt,
  };
  if (claim.outcome === 'terminal') {
    logger.info(`Job already ended ${job.status}: this delivery does nothing.`);
    // Its end is recorded (whatever it was): a non-zero exit would make Cloud Run retry the task.
    return { claimed: false, job, result: { ...found, exitCode: ExitCode.Ok, outcome: 'duplicate' } };
  }
  if (claim.outcome === 'running-elsewhere') {
    logger.info('Another live task is running this job (fresh heartbeat): this delivery does nothing.');
    return { claimed: false, job, result: { ...found, exitCode: ExitCode.Ok, outcome: 'running-elsewhere' } };
  }
  logger.error('The previous attempt died and no attempts are left: the job is dead-lettered.');
  recordJobsEnded('@e11/runner', { jobName: job.jobName, status: 'Errored', deadLettered: true });
  // Recorded: Cloud Run spends no retry on it.
  return { claimed: false, job, result: { ...found, exitCode: ExitCode.Ok, outcome: 'exhausted' } };
}
