import {
  type ActivityOutcome,
  completeJob,
  failJob,
  type FinishOutcome,
  recordHeartbeat,
  recordProgress,
  releaseJob,
  type RunningJob,
  saveCheckpoint,
  type Store,
} from '@e11/core';

/**
 * The writes a task makes to the job it claimed while it runs attempts, each fenced on the claim:
 * activity (heartbeat, progress, checkpoint) and the attempt's end (complete, fail, release). A task
 * uses the Firestore implementation ({@link firestoreJobWrites}); `@e11/runner/testing` runs a job's
 * attempts against an in-memory one.
 */
export interface JobWrites {
  recordHeartbeat(job: RunningJob): Promise<ActivityOutcome>;
  recordProgress(job: RunningJob, ratio: number, message: string | null): Promise<ActivityOutcome>;
  saveCheckpoint(job: RunningJob, checkpoint: unknown): Promise<ActivityOutcome>;
  completeJob(owned: Parameters<typeof completeJob>[1]): Promise<FinishOutcome>;
  failJob(owned: Parameters<typeof failJob>[1]): Promise<FinishOutcome>;
  releaseJob(owned: Parameters<typeof releaseJob>[1]): Promise<FinishOutcome>;
}

/** The job writes of a task: the store's functions of `@e11/core`, on Firestore. */
export function firestoreJobWrites(store: Store): JobWrites {
  return {
    recordHeartbeat: (job) => recordHeartbeat(store, job),
    recordProgress: (job, ratio, message) => recordProgress(store, job, ratio, message),
    saveCheckpoint: (job, checkpoint) => saveCheckpoint(store, job, checkpoint),
    completeJob: (owned) => completeJob(store, owned),
    failJob: (owned) => failJob(store, owned),
    releaseJob: (owned) => releaseJob(store, owned),
  };
}
