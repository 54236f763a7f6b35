import { FieldPath, type QueryDocumentSnapshot } from '@google-cloud/firestore';
import { DEFAULTS } from '../defaults.js';
import { type Logger } from '../logging.js';
import { JobStatus } from '../model/status.js';
import { type Store } from '../store/store.js';

import { readSweepCursor, saveSweepCursor } from '../store/sweep-cursor.js';

const ACTIVE = [JobStatus.Pending, JobStatus.InProgress];

/**
 * Calls `visit` for up to `limit` active orchestrations (`Pending` or `InProgress`), read in id order,
 * `pageSize` per query, starting after the one where the last pass stopped (a cursor stored in
 * Firestore) and wrapping around to it: every active orchestration is visited within
 * ceil(active / limit) + 1 passes, however many there are. Resolves once every visit has settled.
 */
export async function visitActiveOrchestrations(
  context: { store: Store; logger: Logger },
  options: { limit?: number; pageSize?: number },
  visit: (snapshot: QueryDocumentSnapshot) => Promise<unknown>,
): Promise<void> {
  const { store, logger } = context;
  const maxActive = Math.max(1, options.limit ?? DEFAULTS.sweepMaxActive);
  const pageSize = Math.max(1, options.pageSize ?? DEFAULTS.sweepPageSize);
  const cursor = await readSweepCursor(store).catch((error: unknown) => {
    logger.warn({ err: error }, 'could not read the sweep cursor; starting from the first');
    return null;
  });
  const visits: Promise<unknown>[] = [];
  // Lap 1 reads after the cursor to the end; lap 2 from the start up to the cursor.
  let lap = cursor === null ? 2 : 1;
  let after = cursor ?? undefined;
  let seen = 0;
  let stoppedAt: string | null = null;
  try {
    while (seen < maxActive) {
      const want = Math.min(pageSize, maxActive - seen);
      let query = store.collections
        .orchestrations()
        .where('status', 'in', ACTIVE)
        .orderBy(FieldPath.documentId())
        .limit(want);
      if (after !== undefined) query = query.startAfter(after);
      if (lap === 2 && cursor !== null) query = query.endAt(cursor);
      const page = await query.get();
      for (const snapshot of page.docs) visits.push(visit(snapshot));
      seen += page.size;
      after = page.docs.at(-1)?.id ?? after;
      if (page.size < want) {
        stoppedAt = null;
        if (lap === 2) break;
        lap = 2;
        after = undefined;
      } else {
        stoppedAt = after ?? null;
      }
    }
  } finally {
    // Also when a page read failed: every visit started settles before the pass goes on.
    await Promise.allSettled(visits);
  }
  await saveSweepCursor(store, stoppedAt).catch((error: unknown) =>
    logger.warn({ err: error }, 'could not save the sweep cursor'),
  );
}
