import {
  CloudRunEnvName,
  ErrorCode,
  findOrchestration,
  isE11Error,
  type JobDoc,
  loadJob,
  loadJobByIndex,
  type Logger,
  type OrchestrationDoc,
  type Store,
  type TaskEnv,
  TaskEnvName,
} from '@e11/core';

import { persist } from './persist.js';

/**
 * Reads the orchestration a task's env points to (its policy, sensitive keys and job name); undefined
 * when there is none (logged with what to check). The job itself is read by the claim, which decides
 * from it: a task pays no read of its job before the claim (see `readJobForTask` for the paths that end
 * before one).
 */
export async function findTaskOrchestration(
  store: Store,
  env: TaskEnv,
  logger: Logger,
): Promise<OrchestrationDoc | undefined> {
  const orchestration = await persist(() => findOrchestration(store, env.orchestrationId));
  if (!orchestration) {
    logger.error(
      `Orchestration ${env.orchestrationId} does not exist in ${store.collections.orchestrationsId} of database ${store.firestore.databaseId}: check ${TaskEnvName.orchestrationId}, ${TaskEnvName.collectionPrefix}, ${TaskEnvName.firestoreDatabase} and the project.`,
    );
  }
  return orchestration;
}

/** The index of an array-mode task's job (no JOB_ID), undefined in per-job mode. */
export function taskJobIndex(env: TaskEnv): number | undefined {
  return env.jobId === undefined ? (env.jobIndex ?? 0) : undefined;
}

/** Logs that the env names no job of the orchestration, with what to check. */
export function logUnknownJob(env: TaskEnv, message: string, logger: Logger): void {
  const jobIndex = taskJobIndex(env);
  const text =
    jobIndex === undefined
      ? message
      : `Orchestration ${env.orchestrationId} has no job with index ${jobIndex}.`;
  logger.error(`${text} Check ${TaskEnvName.jobId} (or ${CloudRunEnvName.taskIndex} in array mode).`);
}

/**
 * The job as it stands, for the paths that end before a claim (stopped before it, or a JOB_NAME that
 * is not the orchestration's): a read they alone pay. Per-job mode finds the job by JOB_ID (with the
 * launcher's index hint), array mode by its index; a job not written yet is read from its params
 * chunk. Undefined when there is no such job (logged); any other read error rejects.
 */
export async function readJobForTask(
  store: Store,
  env: TaskEnv,
  orchestration: OrchestrationDoc,
  logger: Logger,
): Promise<JobDoc | undefined> {
  const jobIndex = taskJobIndex(env);
  try {
    return await persist(() =>
      jobIndex === undefined
        ? loadJob(store, env.orchestrationId, env.jobId as string, {
            orchestration,
            indexHint: env.jobIndexHint,
          })
        : loadJobByIndex(store, env.orchestrationId, jobIndex, { orchestration }),
    );
  } catch (error) {
    if (!isE11Error(error, ErrorCode.UnknownJob)) throw error;
    logUnknownJob(env, error.message, logger);
    return undefined;
  }
}
