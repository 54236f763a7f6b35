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

/** The orchestration and the job a task's env points to, or the reason the task cannot run (logged). */
export type FoundJob =
  | { found: true; orchestration: OrchestrationDoc; job: JobDoc }
  | { found: false; missing: 'orchestration' | 'job' };

/**
 * Reads the orchestration and the job document in parallel (one round trip, not two); a job not
 * written yet (Pending) then takes one more read, of its params chunk. Per-job mode finds the job by
 * JOB_ID (with the launcher's index hint), array mode by its index. A missing orchestration or job is
 * logged with what to check; any other read error rejects.
 */
export async function findJob(store: Store, env: TaskEnv, logger: Logger): Promise<FoundJob> {
  const orchestrationRead = persist(() => findOrchestration(store, env.orchestrationId));
  const jobId = env.jobId;
  const jobRead = (
    jobId !== undefined
      ? persist(() =>
          loadJob(store, env.orchestrationId, jobId, {
            orchestration: orchestrationRead,
            indexHint: env.jobIndexHint,
          }),
        )
      : persist(() =>
          loadJobByIndex(store, env.orchestrationId, env.jobIndex ?? 0, {
            orchestration: orchestrationRead,
          }),
        )
  ).then(
    (doc) => ({ doc }),
    (error: unknown) => ({ error }),
  );
  const orchestration = await orchestrationRead;
  if (!orchestration) {
    logger.error(
      `Orchestration ${env.orchestrationId} does not exist in ${store.collections.orchestrationsId} of database ${store.firestore.databaseId}: check ${TaskEnvName.orchestrationId}, ${TaskEnvName.collectionPrefix}, ${TaskEnvName.firestoreDatabase} and the project.`,
    );
    return { found: false, missing: 'orchestration' };
  }
  try {
    const read = await jobRead;
    if ('error' in read) throw read.error;
    return { found: true, orchestration, job: read.doc };
  } catch (error) {
    if (!isE11Error(error, ErrorCode.UnknownJob)) throw error;
    logger.error(
      `${error.message} Check ${TaskEnvName.jobId} (or ${CloudRunEnvName.taskIndex} in array mode).`,
    );
    return { found: false, missing: 'job' };
  }
}
