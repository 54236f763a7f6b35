import { sweeperStateDocSchema } from '../model/documents.js';
import { parseDocument } from '../model/parse.js';
import { now, type Store } from './store.js';

/** The id of the active orchestration the last sweep stopped after; null when it visited them all (or never ran). */
export async function readSweepCursor(store: Store): Promise<string | null> {
  const snapshot = await store.collections.sweeperState().get();
  if (!snapshot.exists) return null;
  return parseDocument(sweeperStateDocSchema, snapshot).activeCursor;
}

/**
 * Records where a sweep stopped, so the next one continues after it. Concurrent sweeps may overwrite
 * each other's cursor: either way every active orchestration is reached within a few passes.
 */
export async function saveSweepCursor(store: Store, activeCursor: string | null): Promise<void> {
  await store.collections.sweeperState().set({ v: 1, activeCursor, updatedAt: now(store) });
}
