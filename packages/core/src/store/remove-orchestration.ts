import type { Store } from './store.js';

/**
 * Deletes an orchestration with everything under it (jobs, params chunks, counter shards, completion
 * marker): retention of an ended orchestration, or removal of a registration whose kick-off died.
 */
export async function removeOrchestration(store: Store, orchestrationId: string): Promise<void> {
  await store.firestore.recursiveDelete(store.collections.orchestration(orchestrationId));
}
