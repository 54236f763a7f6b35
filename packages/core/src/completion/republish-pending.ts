import { type QueryDocumentSnapshot, Timestamp } from '@google-cloud/firestore';
import PQueue from 'p-queue';

import { DEFAULTS } from '../defaults.js';
import type { Logger } from '../logging.js';
import { clearEventPending } from '../store/completion-marker.js';

import { type CompletionDeps, retryPublish } from './check-completion.js';

/** Options of {@link republishPendingEvents}. */
export interface RepublishOptions {
  /** Orchestrations with a pending event read per query. @default 500 */
  pageSize?: number;
  /** Orchestrations tried per call at most. @default DEFAULTS.republishMaxPerSweep */
  limit?: number;
  logger?: Pick<Logger, 'warn'>;
}

/**
 * The sweeper's last step: publishes the events whose publish failed or whose publisher died. Reads the
 * orchestrations whose `eventRetryAt` is due, oldest first, page after page (a cursor, not the same
 * first page each time), and retries every unpublished epoch's marker of each. A failed publish pushes
 * its orchestration's `eventRetryAt` back with a growing backoff, and a taken lease moves it to the
 * lease's end, so events that cannot be published (a deleted topic) never starve the others.
 * Returns how many events it published.
 */
export async function republishPendingEvents(
  completion: CompletionDeps,
  options: RepublishOptions = {},
): Promise<number> {
  const { store } = completion;
  const pageSize = Math.max(1, options.pageSize ?? 500);
  const limit = options.limit ?? DEFAULTS.republishMaxPerSweep;
  const due = Timestamp.fromMillis(store.clock.now());
  let republished = 0;
  let seen = 0;
  let cursor: QueryDocumentSnapshot | undefined;
  const queue = new PQueue({ concurrency: 8 });
  while (seen < limit) {
    let query = store.collections
      .orchestrations()
      .where('eventRetryAt', '<=', due)
      .orderBy('eventRetryAt')
      .limit(Math.min(pageSize, limit - seen));
    if (cursor) query = query.startAfter(cursor);
    const page = await query.get();
    await queue.addAll(
      page.docs.map((snapshot) => async () => {
        try {
          republished += await republishOne(completion, snapshot.id);
        } catch (error) {
          options.logger?.warn({ err: error, orchestrationId: snapshot.id }, 'event publish retry failed');
        }
      }),
    );
    seen += page.size;
    cursor = page.docs.at(-1);
    if (page.size < pageSize || !cursor) break;
  }
  return republished;
}

/** Publishes every unpublished epoch's event of one orchestration; how many it published. */
async function republishOne(completion: CompletionDeps, orchestrationId: string): Promise<number> {
  const { store } = completion;
  // Every epoch's end has its own marker: publish each one still unpublished, not only the latest.
  const markers = await store.collections.completions(orchestrationId).where('published', '==', false).get();
  if (markers.empty) {
    await clearEventPending(store, orchestrationId);
    return 0;
  }
  let published = 0;
  let failure: Error | undefined;
  for (const marker of markers.docs) {
    try {
      const result = await retryPublish(completion, orchestrationId, Number(marker.id));
      if (result.outcome === 'published') published++;
    } catch (error) {
      failure ??= error instanceof Error ? error : new Error(String(error));
    }
  }
  if (failure !== undefined) throw failure;
  return published;
}
