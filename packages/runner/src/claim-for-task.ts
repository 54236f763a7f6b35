import { randomUUID } from 'node:crypto';

import {
  claimJob,
  type JobDoc,
  JobStatus,
  type Logger,
  type OrchestrationDoc,
  type Store,
  type TaskEnv,
} from '@e11/core';

import { ExitCode, type ExecuteJobResult } from './outcome.js';
import { persist } from './persist.js';

/** This task's claim on its job, or what the task reports when there is nothing for it to run. */
export type TaskClaim =
  | { claimed: true; claimId: string; job: JobDoc; attempt: number }
  | { claimed: false; result: ExecuteJobResult };

/**
 * Claims the job for this task in a transaction (a re-delivered task never runs it twice). When the
 * claim is refused the task has nothing to do: the job had ended (exit 0 when Completed or Cancelled,
 * 1 when Errored), another live task runs it (exit 0), or a dead attempt was found with no attempts
 * left (dead-lettered, exit 1). Each case is logged once.
 */
export async function claimForTask(input: {
  store: Store;
  env: TaskEnv;
  job: JobDoc;
  orchestration: OrchestrationDoc;
  maxAttempts: number;
  logger: Logger;
}): Promise<TaskClaim> {
  const { store, env, job, orchestration, logger } = input;
  const claimId = randomUUID();
  const claim = await persist(() =>
    claimJob(store, {
      orchestrationId: job.orchestrationId,
      jobId: job.id,
      claim: {
        id: claimId,
        executionName: env.executionName,
        taskIndex: env.taskIndex,
        taskAttempt: env.taskAttempt,
      },
      maxAttempts: input.maxAttempts,
      heartbeatTimeoutMs: orchestration.policy.heartbeatTimeoutMs,
      job,
      orchestration,
    }),
  );
  if (claim.outcome === 'claimed') {
    return { claimed: true, claimId, job: claim.job, attempt: claim.attempt };
  }
  const found = {
    orchestrationId: job.orchestrationId,
    jobId: job.id,
    status: claim.job.status,
    attempt: claim.job.attempt,
  };
  if (claim.outcome === 'terminal') {
    logger.info(`Job already ended ${claim.job.status}: this delivery does nothing.`);
    // Completed or Cancelled: nothing is wrong, and a non-zero exit would make Cloud Run retry the task.
    const nothingToDo = claim.job.status === JobStatus.Completed || claim.job.status === JobStatus.Cancelled;
    const exitCode = nothingToDo ? ExitCode.Ok : ExitCode.Failed;
    return { claimed: false, result: { ...found, exitCode, outcome: 'duplicate' } };
  }
  if (claim.outcome === 'running-elsewhere') {
    logger.info('Another live task is running this job (fresh heartbeat): this delivery does nothing.');
    return { claimed: false, result: { ...found, exitCode: ExitCode.Ok, outcome: 'running-elsewhere' } };
  }
  logger.error('The previous attempt died and no attempts are left: the job is dead-lettered.');
  return { claimed: false, result: { ...found, exitCode: ExitCode.Failed, outcome: 'exhausted' } };
}
