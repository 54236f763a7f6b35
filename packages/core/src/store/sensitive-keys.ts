import { FieldValue } from '@google-cloud/firestore';

import type { OrchestrationDoc } from '../model/documents.js';

import type { Store } from './store.js';

/**
 * Adds to an orchestration the sensitive keys its job class declares (`@JobName(name, {
 * sensitiveKeys })`) that the kick-off did not store — a kick-off by a name the service had no class
 * for. Every reader redacts with the stored list, so the runner makes it whole when it claims a job.
 * Writes only when a key is missing from `orchestration` (as read by the task), so in a large
 * orchestration typically only the first task writes; `arrayUnion` lets concurrent tasks merge
 * rather than overwrite. Returns the keys that were missing.
 */
export async function addSensitiveKeys(
  store: Store,
  orchestration: Pick<OrchestrationDoc, 'id' | 'sensitiveKeys'>,
  declared: readonly string[],
): Promise<string[]> {
  const missing = [...new Set(declared)].filter((key) => !orchestration.sensitiveKeys.includes(key));
  if (missing.length === 0) return [];
  await store.collections
    .orchestration(orchestration.id)
    .update({ sensitiveKeys: FieldValue.arrayUnion(...missing) });
  return missing;
}
