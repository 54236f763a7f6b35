import { DEFAULTS } from '../defaults.js';
import { grpcCodeOf, GrpcStatus } from '../internal/grpc-errors.js';
import { JobStatus } from '../model/status.js';

import { truncateUtf8 } from './bounded-text.js';
import type { OwnedJob } from './finish-job.js';
import { keepVersion, takeVersion } from './job-version.js';
import { now, type Store } from './store.js';

/** A running job and the claim its task holds. */
export type RunningJob = OwnedJob;

/**
 * `recorded`: written. `lost`: the claim is not the job's any more (taken over, ended, or gone):
 * nothing was written and the task must stop. `cancelled`: the job was cancelled; nothing was written.
 */
export type ActivityOutcome = 'recorded' | 'lost' | 'cancelled';

/** How often a fenced write re-reads after its precondition failed (the job changed in between). */
const MAX_FENCE_TRIES = 5;

/**
 * Writes `patch` only while the job is `InProgress` under `job.claimId`: it reads `status` and
 * `claim` (a field mask, not the up-to-1-MiB document), then updates with a precondition on the
 * document's update time, so a takeover or cancel committed in between fails the write instead of
 * being overwritten; it then reads again. Cost per call: one document read and one write (two round
 * trips), where a blind update was one write. A transaction would cost the same but hold a lock that
 * the task's other writes and a replacement's claim would queue behind; a precondition holds none.
 * With a known version (job-version.ts: the task's claim or its last write) the read is skipped: the
 * update's precondition is that version's update time, and only a failed precondition reads.
 */
async function whileClaimed(
  store: Store,
  job: RunningJob,
  patch: () => Record<string, unknown>,
): Promise<ActivityOutcome> {
  const ref = store.collections.job(job.orchestrationId, job.jobId);
  const known = takeVersion(job);
  if (known) {
    const data = patch();
    try {
      const written = await ref.update(data, { lastUpdateTime: known.updateTime });
      keepVersion(job, { ...known.job, ...data }, written.writeTime);
      return 'recorded';
    } catch (error) {
      if (grpcCodeOf(error) !== GrpcStatus.FAILED_PRECONDITION) throw error;
    }
  }
  for (let tries = 1; ; tries++) {
    const [snapshot] = await store.firestore.getAll(ref, { fieldMask: ['status', 'claim.id'] });
    if (!snapshot?.exists || !snapshot.updateTime) return 'lost';
    const status = snapshot.get('status') as unknown;
    if (status === JobStatus.Cancelled) return 'cancelled';
    if (status !== JobStatus.InProgress || snapshot.get('claim.id') !== job.claimId) return 'lost';
    try {
      await ref.update(patch(), { lastUpdateTime: snapshot.updateTime });
      return 'recorded';
    } catch (error) {
      if (grpcCodeOf(error) !== GrpcStatus.FAILED_PRECONDITION || tries >= MAX_FENCE_TRIES) throw error;
    }
  }
}

/**
 * Writes progress (`ratio` clamped to 0..1, the message cut to DEFAULTS.maxProgressMessageBytes) and
 * the heartbeat, fenced on the claim. The runner throttles calls to about one per second per job.
 */
export function recordProgress(
  store: Store,
  job: RunningJob,
  ratio: number,
  message: string | null,
): Promise<ActivityOutcome> {
  return whileClaimed(store, job, () => {
    const at = now(store);
    const text = message === null ? null : truncateUtf8(message, DEFAULTS.maxProgressMessageBytes);
    return {
      progress: { ratio: Math.min(1, Math.max(0, ratio)), message: text, at },
      heartbeatAt: at,
      updatedAt: at,
    };
  });
}

/** Writes the heartbeat that tells the sweeper this task is alive, fenced on the claim. */
export function recordHeartbeat(store: Store, job: RunningJob): Promise<ActivityOutcome> {
  return whileClaimed(store, job, () => ({ heartbeatAt: now(store) }));
}

/**
 * Stores a checkpoint the next attempt of this job receives as `ctx.checkpoint` (resumable jobs),
 * fenced on the claim: a task that lost its job never overwrites its replacement's checkpoint.
 */
export function saveCheckpoint(store: Store, job: RunningJob, checkpoint: unknown): Promise<ActivityOutcome> {
  return whileClaimed(store, job, () => {
    const at = now(store);
    return { checkpoint: checkpoint === undefined ? null : checkpoint, heartbeatAt: at, updatedAt: at };
  });
}
