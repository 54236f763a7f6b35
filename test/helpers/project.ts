import { randomUUID } from 'node:crypto';

import { createFirestore, createPubSub } from '@e11/sdk';
import { inject } from 'vitest';

/** A project id of its own for one test file, so files running in parallel never share data. */
export function testProjectId(name: string): string {
  return `${name}-${randomUUID().slice(0, 8)}`.toLowerCase();
}

/** Real clients pointed at the emulators the global setup started. */
export function emulatorClients(projectId: string) {
  return {
    firestore: createFirestore({ projectId, emulatorHost: inject('firestoreHost') }),
    pubsub: createPubSub({ projectId, emulatorHost: inject('pubsubHost') }),
  };
}

/** The emulators and trigger bridge the global setup started, as `startStack({ attach })` takes them. */
export function suiteEmulators() {
  return {
    firestoreHost: inject('firestoreHost'),
    pubsubHost: inject('pubsubHost'),
    bridgeUrl: inject('bridgeUrl'),
  };
}
