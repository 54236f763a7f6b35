import { type OrchestrationDoc, loadOrchestration, type Store } from '@e11/core';
import { defer, type Observable } from 'rxjs';

/**
 * The orchestration document, read once per subscription, if the store's tenant may see it; else
 * `E11_UNKNOWN_ORCHESTRATION` exactly as for an id that does not exist (another tenant's orchestration
 * is a missing one). Every monitoring stream subscribes to this first and attaches its Firestore
 * listeners only once it emitted, so a subscriber never receives a byte of an orchestration it may not
 * see, whichever listener would have answered first.
 */
export function visibleOrchestration(store: Store, orchestrationId: string): Observable<OrchestrationDoc> {
  return defer(() => loadOrchestration(store, orchestrationId));
}
