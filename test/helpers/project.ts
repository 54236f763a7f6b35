import { randomUUID } from 'node:crypto';

import { createFirestore, createStore, type Store, type StoreOptions } from '@e11/core';
import { createPubSub } from '@e11/core/engine';
import type { Stack } from '@e11/emulators';
import { OrchestrationService, type OrchestrationServiceOptions } from '@e11/sdk';
import type { Firestore } from '@google-cloud/firestore';
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

/**
 * An unscoped store over the test's own Firestore client, for assertions on stored state and for
 * playing the runner's part (a service exposes no store): the same prefix and clock as the service
 * under test when they are not the defaults.
 */
export function storeFor(firestore: Firestore, options: Omit<StoreOptions, 'firestore'> = {}): Store {
  return createStore({ firestore, ...options });
}
