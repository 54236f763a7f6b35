import type { DocumentReference, CollectionReference } from '@google-cloud/firestore';
import { type Store } from '../store/store.js';

/**
 * Where a schedule lives. Schedule names are per tenant: tenant B may own a `nightly` while tenant A
 * owns one, and neither can reach (or learn of) the other's. The document id — and the Cloud Scheduler
 * job id, which is the prefix plus this id — derives from (tenant, name):
 *
 * - an untenanted schedule (unscoped service): the name itself, as before tenants had schedules;
 * - a tenant's schedule: `{encoded tenant}__{name}`. The tenant is encoded to lower-case letters,
 *   digits, `-` and `_`: `_` becomes `_0`, `.` becomes `_1`, an upper-case letter `X` becomes `_x`.
 *
 * The mapping is injective: a name (`[a-z][a-z0-9-]*`) has no `_`; in an encoded tenant every `_` is
 * followed by a digit or a letter, so its first `__` is the separator. Ids are valid Firestore document
 * ids (no `/`, never `__…__`) and valid Cloud Scheduler job ids (letters, digits, `-`, `_`; at most
 * 4 + 256 + 2 + 63 characters with the default prefix, far below 500).
 */
export function scheduleDocId(tenant: string | null, name: string): string {
  if (tenant === null) return name;
  const encoded = tenant.replace(/[_.A-Z]/g, (char) =>
    char === '_' ? '_0' : char === '.' ? '_1' : `_${char.toLowerCase()}`,
  );
  return `${encoded}__${name}`;
}

/** The document of the store's tenant's schedule `name` (`{prefix}schedules/{scheduleDocId}`). */
export function scheduleRef(store: Store, name: string): DocumentReference {
  return store.collections.schedule(scheduleDocId(store.tenant, name));
}

/** The run history of the store's tenant's schedule `name`. */
export function scheduleRunsRef(store: Store, name: string): CollectionReference {
  return store.collections.scheduleRuns(scheduleDocId(store.tenant, name));
}
