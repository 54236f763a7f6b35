import type { Store } from './store.js';

/**
 * The W3C traceparent stored on an orchestration (its kick-off's span), reading that one field only;
 * null when the orchestration does not exist or has none.
 */
export async function readOrchestrationTraceparent(
  store: Store,
  orchestrationId: string,
): Promise<string | null> {
  const ref = store.collections.orchestration(orchestrationId);
  const [snapshot] = await store.firestore.getAll(ref, { fieldMask: ['traceparent'] });
  const value: unknown = snapshot?.get('traceparent');
  return typeof value === 'string' ? value : null;
}
