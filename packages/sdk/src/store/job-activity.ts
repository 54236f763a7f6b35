import { now, type Store } from './store.js';

/** A running job's identity. */
export interface RunningJob {
  orchestrationId: string;
  jobId: string;
}

/**
 * Writes progress (`ratio` clamped to 0..1) and the heartbeat in one blind update. The runner throttles
 * calls to about one per second per job.
 */
export async function recordProgress(
  store: Store,
  job: RunningJob,
  ratio: number,
  message: string | null,
): Promise<void> {
  const at = now(store);
  await store.collections.job(job.orchestrationId, job.jobId).update({
    progress: { ratio: Math.min(1, Math.max(0, ratio)), message, at },
    heartbeatAt: at,
    updatedAt: at,
  });
}

/** Writes the heartbeat that tells the sweeper this task is alive. */
export async function recordHeartbeat(store: Store, job: RunningJob): Promise<void> {
  const at = now(store);
  await store.collections.job(job.orchestrationId, job.jobId).update({ heartbeatAt: at });
}

/** Stores a checkpoint the next attempt of this job receives as `ctx.checkpoint` (resumable jobs). */
export async function saveCheckpoint(store: Store, job: RunningJob, checkpoint: unknown): Promise<void> {
  const at = now(store);
  await store.collections.job(job.orchestrationId, job.jobId).update({
    checkpoint: checkpoint === undefined ? null : checkpoint,
    heartbeatAt: at,
    updatedAt: at,
  });
}
