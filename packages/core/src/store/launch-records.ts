import { FieldValue, Timestamp } from '@google-cloud/firestore';

import { DEFAULTS } from '../defaults.js';
import { GrpcStatus, grpcCodeOf } from '../internal/grpc-errors.js';
import { JobStatus } from '../model/status.js';

import { now, type Store, updateIdempotent } from './store.js';
import { unwrittenJobDoc, type UnwrittenJob } from './unwritten-jobs.js';

/**
 * What a launch records: the executions it started, that it is alive, that it started and finished,
 * and (the sweeper) that a job went out again. None of these changes a job's status or counts.
 */

/**
 * Records the Cloud Run execution launched for one job (per-job mode), for cancel(), the dashboard and
 * the sweeper, and counts the launch (`launches`, per epoch), without touching its status. A job with
 * no document yet gets its document, still `Pending`, from `unwritten()` (the job as its params chunk
 * gives it): this is one of the first writes of a job (see unwritten-jobs.ts); a job with a document is
 * updated. `createFirst` when the job most likely has no document (a kick-off's launch): one write, or
 * two when its task claimed it first; otherwise (relaunches) the update goes first.
 */
export async function recordJobExecution(
  store: Store,
  job: { orchestrationId: string; jobId: string },
  executionName: string,
  options: { unwritten: () => Promise<UnwrittenJob | undefined>; createFirst: boolean },
): Promise<void> {
  const ref = store.collections.job(job.orchestrationId, job.jobId);
  const create = async () => {
    const unwritten = await options.unwritten();
    if (!unwritten) return false;
    try {
      await ref.create({ ...unwrittenJobDoc(unwritten), executionName, launches: 1 });
      return true;
    } catch (error) {
      if (grpcCodeOf(error) === GrpcStatus.ALREADY_EXISTS) return false;
      throw error;
    }
  };
  if (options.createFirst && (await create())) return;
  try {
    await ref.update({ executionName, launches: FieldValue.increment(1) });
  } catch (error) {
    if (options.createFirst || grpcCodeOf(error) !== GrpcStatus.NOT_FOUND || !(await create())) throw error;
  }
}

/**
 * Records one array-mode execution on its orchestration: its name (for cancel() and the dashboard)
 * and which jobs it runs (`first`, `count`), so each of them counts one launch without a write per job.
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

/**
 * Says every DEFAULTS.launchHeartbeatMs that a launch of the orchestration is still alive (a long one
 * runs for minutes under the Admin API's rate limit), so the sweeper tells it from a launcher that died
 * mid-launch. Returns the function that stops it.
 */
export function startLaunchHeartbeat(
  store: Store,
  orchestrationId: string,
  onError: (error: Error) => void = () => undefined,
): () => void {
  const timer = setInterval(() => {
    recordLaunchHeartbeat(store, orchestrationId).catch(onError);
  }, DEFAULTS.launchHeartbeatMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** Says that a launch (a kick-off's or a retryFailed's) of the orchestration is still alive. */
export async function recordLaunchHeartbeat(store: Store, orchestrationId: string): Promise<void> {
  await store.collections.orchestration(orchestrationId).update({ launchHeartbeatAt: now(store) });
}

/** A kick-off's launch starts: the orchestration is `InProgress` from now on. */
export async function markLaunchStarted(store: Store, orchestrationId: string): Promise<void> {
  const at = now(store);
  await updateIdempotent(store.collections.orchestration(orchestrationId), {
    status: JobStatus.InProgress,
    launchedAt: at,
    updatedAt: at,
  });
}

/**
 * A launch ended with every job launched or ended (none left Pending for the sweeper): the sweeper's
 * "launcher gone" rule no longer applies to it.
 */
export async function markLaunchCompleted(store: Store, orchestrationId: string): Promise<void> {
  await updateIdempotent(store.collections.orchestration(orchestrationId), { launchCompletedAt: now(store) });
}

/**
 * Hands a job an admission could not launch to the sweeper (`launchDeferredAt`): it stays `Pending`
 * and the next sweep launches it. A job with no document gets one (a first write, see
 * unwritten-jobs.ts).
 */
export async function markLaunchDeferred(
  store: Store,
  job: { orchestrationId: string; jobId: string },
  unwritten: () => Promise<UnwrittenJob | undefined>,
): Promise<void> {
  const ref = store.collections.job(job.orchestrationId, job.jobId);
  const at = now(store);
  try {
    await ref.update({ launchDeferredAt: at, updatedAt: at });
  } catch (error) {
    if (grpcCodeOf(error) !== GrpcStatus.NOT_FOUND) throw error;
    const fresh = await unwritten();
    if (!fresh) return;
    await ref
      .create({ ...unwrittenJobDoc(fresh), launchDeferredAt: at, updatedAt: at })
      .catch((race: unknown) => {
        // Written meanwhile (its task claimed it after all, or the sweeper): nothing is waiting for it.
        if (grpcCodeOf(race) !== GrpcStatus.ALREADY_EXISTS) throw race;
      });
  }
}

/**
 * Gives a job the sweeper relaunched a fresh `updatedAt`, so the next sweep does not launch it again at
 * once. A job that had no document usually has one now (the launch recorded its execution); if not, it
 * gets one here (a first write, see unwritten-jobs.ts). Best effort: a failure only means an early
 * relaunch, which the claim makes harmless.
 */
export async function markRelaunched(
  store: Store,
  job: { orchestrationId: string; id: string },
): Promise<void> {
  const ref = store.collections.job(job.orchestrationId, job.id);
  const updatedAt = Timestamp.fromMillis(store.clock.now());
  try {
    await ref.update({ updatedAt });
  } catch (error) {
    if ((job as UnwrittenJob).unwritten === true && grpcCodeOf(error) === GrpcStatus.NOT_FOUND) {
      await ref.create({ ...unwrittenJobDoc(job as UnwrittenJob), updatedAt }).catch(() => undefined);
    }
  }
}
