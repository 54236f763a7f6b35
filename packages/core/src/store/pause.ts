import { now, type Store, updateIdempotent } from './store.js';

/**
 * Pauses (`true`) or resumes (`false`) an orchestration's launches: while `paused`, every launch run of
 * it stops sending requests and the sweeper launches nothing for it; running jobs go on.
 */
export async function setPaused(store: Store, orchestrationId: string, paused: boolean): Promise<void> {
  const at = now(store);
  await updateIdempotent(store.collections.orchestration(orchestrationId), {
    paused,
    pausedAt: paused ? at : null,
    updatedAt: at,
  });
}
