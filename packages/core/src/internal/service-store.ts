import { E11Error, ErrorCode } from '../errors.js';
import type { JobDefinitions } from '../orchestration/job-definitions.js';
import { type Store } from '../store/store.js';

/**
 * The store of each OrchestrationService (sdk) and Engine, kept outside the object: a service (above
 * all a tenant-scoped one) exposes no store, Firestore client or launcher to its callers, while E11's
 * own modules that need the store (the schedule tick, the sdk's schedules and SSE handler) read it
 * here. Exported by `@e11/core/engine` only, for those modules; @e11/cli reaches the store only
 * through the service's public methods and createSseHandler.
 */
const internals = new WeakMap<object, ServiceInternals>();

/** What the package's own modules read of a service. */
export interface ServiceInternals {
  store: Store;
  /** The job classes it knows (`jobs` option), for their declared sensitive keys. */
  jobs: JobDefinitions;
}

/** Records the internals of `service` (an OrchestrationService or an Engine); called once by its constructor. */
export function bindServiceStore(service: object, bound: ServiceInternals): void {
  internals.set(service, bound);
}

function internalsOf(service: object): ServiceInternals {
  const bound = internals.get(service);
  if (!bound) {
    throw new E11Error(ErrorCode.InvalidOptions, 'service: must be an OrchestrationService.', {
      context: { path: 'service' },
    });
  }
  return bound;
}

/** The store of an OrchestrationService; `E11_INVALID_OPTIONS` for any other object. */
export function serviceStore(service: object): Store {
  return internalsOf(service).store;
}

/** The job classes an OrchestrationService knows; `E11_INVALID_OPTIONS` for any other object. */
export function serviceJobDefinitions(service: object): JobDefinitions {
  return internalsOf(service).jobs;
}
