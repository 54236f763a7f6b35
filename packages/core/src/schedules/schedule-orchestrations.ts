import { type OrchestrationDoc, orchestrationDocSchema } from '../model/documents.js';
import { parseDocument } from '../model/parse.js';
import { JobStatus } from '../model/status.js';
import { isVisible } from '../store/orchestration-docs.js';
import { type Store } from '../store/store.js';

/**
 * The orchestrations a schedule launched, found by the tag every run carries (`schedule: name`) and the
 * schedule's tenant, not
 * by the schedule's own bookkeeping: an orchestration whose run was never recorded (its tick died right
 * after the kick-off) or that a manual trigger launched is found all the same.
 */

/** The tag key every run's orchestration carries, with the schedule name as value. */
export const SCHEDULE_TAG = 'schedule';

const ACTIVE = [JobStatus.Pending, JobStatus.InProgress] as const;

/** How many still-running orchestrations of one schedule are looked at (cancel-previous cancels them all). */
const ACTIVE_LIMIT = 20;

/**
 * The schedule's orchestrations that are still Pending or InProgress, newest first — those of the
 * store's tenant only (null: untenanted), as schedule names are per tenant: another tenant's schedule
 * of the same name never counts as a previous run, and is never cancelled. Two equality queries (one
 * per status) rather than one `in` query: Firestore serves equality filters on several fields by merging
 * its automatic single-field indexes, so no composite index has to be deployed.
 */
export async function findActiveScheduleOrchestrations(
  store: Store,
  scheduleName: string,
): Promise<OrchestrationDoc[]> {
  const snapshots = await Promise.all(
    ACTIVE.map((status) =>
      store.collections
        .orchestrations()
        .where(`tags.${SCHEDULE_TAG}`, '==', scheduleName)
        .where('tenant', '==', store.tenant)
        .where('status', '==', status)
        .limit(ACTIVE_LIMIT)
        .get(),
    ),
  );
  return snapshots
    .flatMap((snapshot) => snapshot.docs.map((doc) => parseDocument(orchestrationDocSchema, doc)))
    .filter((doc) => doc.tenant === store.tenant)
    .sort((a, b) => b.createdAt.toMillis() - a.createdAt.toMillis());
}

const statusFields = orchestrationDocSchema.pick({ id: true, status: true, tenant: true });

/**
 * The status of each given orchestration, by id, in one batched read of three fields; ids that do not
 * exist (deleted by retention) or belong to another tenant are absent.
 */
export async function readOrchestrationStatuses(
  store: Store,
  orchestrationIds: readonly string[],
): Promise<Map<string, JobStatus>> {
  const unique = [...new Set(orchestrationIds)];
  const statuses = new Map<string, JobStatus>();
  if (unique.length === 0) return statuses;
  const refs = unique.map((id) => store.collections.orchestration(id));
  const snapshots = await store.firestore.getAll(...refs, { fieldMask: Object.keys(statusFields.shape) });
  for (const snapshot of snapshots) {
    if (!snapshot.exists) continue;
    const doc = parseDocument(statusFields, snapshot);
    if (isVisible(store, doc)) statuses.set(doc.id, doc.status);
  }
  return statuses;
}
