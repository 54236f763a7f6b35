import type { EndReason } from '../model/documents.js';
import { now, type Store, updateIdempotent } from './store.js';

/**
 * Records that an orchestration is being cancelled (`cancelRequested`, with why): launches stop for it,
 * and its end event says `Cancelled`. Its jobs are cancelled one by one afterwards (cancelJob).
 */
export async function requestCancel(store: Store, orchestrationId: string, reason: EndReason): Promise<void> {
  await updateIdempotent(store.collections.orchestration(orchestrationId), {
    cancelRequested: true,
    cancelReason: reason,
    updatedAt: now(store),
  });
}
