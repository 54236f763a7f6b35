import { FieldValue } from '@google-cloud/firestore';
import { GrpcStatus, grpcCodeOf } from '../internal/grpc-errors.js';
import { type Store } from './store.js';
import { firstWriteOf, type VirtualJob } from './virtual-jobs.js';

/**
 * Records the Cloud Run execution launched for one job (per-job mode), for cancel(), the dashboard and
 * the sweeper, and counts the launch (`launches`, per epoch), without touching its status. A job with
 * no document yet gets its document, still `Pending`, from `unwritten()` (the job as its params chunk
 * gives it); a job with a document is updated. `createFirst` when the job most likely has no
 * document (a kick-off's launch): one write, or two when its task claimed it first; otherwise
 * (relaunches) the update goes first.
 */
export async function recordJobExecution(
  store: Store,
  job: { orchestrationId: string; jobId: string },
  executionName: string,
  options: { unwritten: () => Promise<VirtualJob | undefined>; createFirst: boolean },
): Promise<void> {
  const ref = store.collections.job(job.orchestrationId, job.jobId);
  const create = async () => {
    const unwritten = await options.unwritten();
    if (!unwritten) return false;
    try {
      await ref.create({ ...firstWriteOf(unwritten), executionName, launches: 1 });
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
