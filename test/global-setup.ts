import { startGoogleEmulators, startTriggerBridge } from '@e11/emulators';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    firestoreHost: string;
    pubsubHost: string;
    /** URL of the trigger bridge, where the Firestore emulator delivers trigger CloudEvents. */
    bridgeUrl: string;
  }
}

/**
 * Starts the Firestore and Pub/Sub emulators once for the whole run (offline, through
 * firebase-tools), then the trigger bridge on the port the Firestore emulator delivers trigger
 * CloudEvents to, and stops them when the run ends. Test files never assume anything is running:
 * they get the hosts through `inject()`, use their own project ids, and route their own triggers
 * (`registerJobTrigger` with `inject('bridgeUrl')`).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const emulators = await startGoogleEmulators();
  const bridge = await startTriggerBridge({
    host: emulators.ports.host,
    port: emulators.ports.bridge,
    firestoreHost: emulators.firestoreHost,
  }).catch(async (error: unknown) => {
    await emulators.stop();
    throw error;
  });
  project.provide('firestoreHost', emulators.firestoreHost);
  project.provide('pubsubHost', emulators.pubsubHost);
  project.provide('bridgeUrl', bridge.url);
  return async () => {
    await bridge.stop();
    await emulators.stop();
  };
}
