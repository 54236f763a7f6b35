import { randomUUID } from 'node:crypto';

import type { Stack } from '@e11/emulators';
import {
  createFirestore,
  createPubSub,
  OrchestrationService,
  type OrchestrationServiceOptions,
} from '@e11/sdk';
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

/**
 * The OrchestrationService of a test file on its stack: the file's project and clients, launching
 * through the stack's Cloud Run emulator, events on `defaultTopic`; `options` adds or overrides.
 */
export function stackService(
  stack: Pick<Stack, 'cloudRun'>,
  base: Required<Pick<OrchestrationServiceOptions, 'projectId' | 'firestore' | 'pubsub' | 'defaultTopic'>>,
  options: OrchestrationServiceOptions = {},
): OrchestrationService {
  return new OrchestrationService({ ...base, cloudRunEndpoint: stack.cloudRun.endpoint, ...options });
}
