import { addSensitiveKeys, type Logger, type OrchestrationDoc, type Store } from '@e11/core';

import { persist } from './persist.js';

/**
 * Stores the keys the job class declares sensitive on the orchestration when its kick-off did not
 * (a kick-off by a name the backend registered no class for): every reader redacts with the stored
 * list. Written before the claim, so a reader that sees a claimed job and then reads the orchestration
 * gets the keys; at most once per task start, and only when a key is missing (as read by this task),
 * so a large orchestration's tasks do not all write its document. A failure is logged, not fatal: this task
 * redacts its own outputs anyway.
 */
export async function addDeclaredKeys(
  store: Store,
  orchestration: OrchestrationDoc,
  declared: readonly string[],
  logger: Logger,
): Promise<void> {
  try {
    const added = await persist(() => addSensitiveKeys(store, orchestration, declared));
    if (added.length > 0)
      logger.info({ keys: added }, "Stored the job class's sensitive keys on the orchestration.");
  } catch (error) {
    logger.warn(
      { err: error instanceof Error ? error.message : String(error) },
      "Could not store the job class's sensitive keys on the orchestration; readers may show them unredacted.",
    );
  }
}
