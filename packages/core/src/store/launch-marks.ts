import { FieldValue, type Timestamp } from '@google-cloud/firestore';

import { GrpcStatus, grpcCodeOf } from '../internal/grpc-errors.js';
import { JobStatus } from '../model/status.js';

import { now, type Store, updateIdempotent } from './store.js';
import { firstWriteOf, isVirtualJob, type VirtualJob } from './virtual-jobs.js';

/**
 * The marks a launch leaves on its orchestration: started (the orchestration is `InProgress`), alive
 * (a heartbeat while a long launch runs, so the sweeper can tell it from a backend that died
 * mid-launch), complete (every job launched or ended: jobs still `Pending` then are the sweeper's), and
 * each array-mode execution started. Each is idempotent; the first three retry a transient failure.
 */

/** A kick-off's registration is done and its launch begins: the orchestration is `InProgress`. */
export async function markLaunchStarted(store: Store, orchestrationId: string): Promise<void> {
  await updateIdempotent(store.collections.orchestration(orchestrationId), {
    status: JobStatus.InProgress,
    launchedAt: now(store),
    updatedAt: now(store),
  });
}

/** A launch still running says so (see `DEFAULTS.launchHeartbeatMs`). */
export async function recordLaunchHeartbeat(store: Store, orchestrationId: string): Promise<void> {
  await store.collections.orchestration(orchestrationId).update({ launchHeartbeatAt: now(store) });
}

/** Every job of a launch was launched or ended: none of its jobs is still waiting for this launcher. */
export async function markLaunchCompleted(store: Store, orchestrationId: string): Promise<void> {
  await updateIdempotent(store.collections.orchestration(orchestrationId), { launchCompletedAt: now(store) });
}

/**
 * Records an array-mode execution on its orchestration (for cancel() and the dashboard) and which jobs
 * it runs (`first` .. `first + count - 1`): each job counts one launch without a write per job.
 */
export async function recordArrayExecution(
  store: Store,
  orchestrationId: string,
  execution: { executionName: string; first: number; count: number },
): Promise<void> {
  await store.collections.orchestration(orchestrationId).update({
    executions: FieldValue.arrayUnion(execution.executionName),
    arrayLaunches: FieldValue.arrayUnion(execution),
    updatedAt: now(store),
  });
}

/** Asks running launches and tasks of an orchestration to stop: the first step of a cancel. */
export async function markCancelRequested(
  store: Store,
  orchestrationId: string,
  reason: 'cancelled' | 'timeout',
): Promise<void> {
  await updateIdempotent(store.collections.orchestration(orchestrationId), {
    cancelRequested: true,
    cancelReason: reason,
    updatedAt: now(store),
  });
}

/**
 * Gives a relaunched job a fresh `updatedAt` so the next sweep does not launch it again at once. A job
 * that had no document and still has none (its launch recorded nothing) gets one. Never throws for a job
 * that cannot be touched: the next sweep sees it again.
 */
export async function touchRelaunchedJob(
  store: Store,
  orchestrationId: string,
  job: { id: string } | VirtualJob,
  updatedAt: Timestamp = now(store),
): Promise<void> {
  const ref = store.collections.job(orchestrationId, job.id);
  try {
    await ref.update({ updatedAt });
  } catch (error) {
    if (isVirtualJob(job) && grpcCodeOf(error) === GrpcStatus.NOT_FOUND) {
      await ref.create({ ...firstWriteOf(job), updatedAt }).catch(() => undefined);
    }
  }
}
