import { GrpcStatus, grpcCodeOf } from '../internal/grpc-errors.js';

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

/**
 * Pauses (`true`) or resumes (`false`) the admissions of a concurrency key: while `paused`, no round
 * gives its slots (to any orchestration sharing it); running jobs go on. False when the key does not
 * exist (no kick-off named it yet).
 */
export async function setKeyPaused(store: Store, keyId: string, paused: boolean): Promise<boolean> {
  try {
    await store.collections.concurrencyKey(keyId).update({ paused, updatedAt: now(store) });
    return true;
  } catch (error) {
    if (grpcCodeOf(error) === GrpcStatus.NOT_FOUND) return false;
    throw error;
  }
}
