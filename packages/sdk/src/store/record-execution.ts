import type { Store } from './store.js';
import { firstWriteOf, type JobSource, lazyVirtualJob, withFirstWrite } from './virtual-jobs.js';

/**
 * Records the Cloud Run execution launched for one job (per-job mode), for cancel() and the dashboard,
 * without touching its status. A job with no document yet gets its document (still `Pending`); a job
 * whose task created it first is updated.
 */
export async function recordJobExecution(
  store: Store,
  job: { orchestrationId: string; jobId: string; index: number; orchestration?: JobSource },
  executionName: string,
): Promise<void> {
  const ref = store.collections.job(job.orchestrationId, job.jobId);
  const virtual = lazyVirtualJob(store, { ...job, indexHint: job.index, source: job.orchestration });
  await withFirstWrite(() =>
    store.firestore.runTransaction(async (tx) => {
      const snapshot = await tx.get(ref);
      if (snapshot.exists) {
        tx.update(ref, { executionName });
        return;
      }
      const unwritten = await virtual();
      if (unwritten) tx.create(ref, { ...firstWriteOf(unwritten), executionName });
    }),
  );
}
