import { E11Error, ErrorCode } from '../errors.js';
import type { Store } from '../store/store.js';

/**
 * The store of each OrchestrationService, kept outside the object: a service (above all a
 * tenant-scoped one) exposes no store, Firestore client or launcher to its callers, while the package's
 * own modules that need the store (schedules, CLI, dashboard) read it here. Not exported by any of the
 * package's entry points.
 */
const stores = new WeakMap<object, Store>();

/** Records the store of `service`; called once by its constructor. */
export function bindServiceStore(service: object, store: Store): void {
  stores.set(service, store);
}

/** The store of an OrchestrationService; `E11_INVALID_OPTIONS` for any other object. */
export function serviceStore(service: object): Store {
  const store = stores.get(service);
  if (!store) {
    throw new E11Error(ErrorCode.InvalidOptions, 'service: must be an OrchestrationService.', {
      context: { path: 'service' },
    });
  }
  return store;
}
