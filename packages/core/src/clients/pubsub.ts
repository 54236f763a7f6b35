import { PubSub } from '@google-cloud/pubsub';
import { type ClientOptions, resolveProjectId } from './firestore.js';

/** A Pub/Sub client (emulator-aware through PUBSUB_EMULATOR_HOST). */
export function createPubSub(options: ClientOptions = {}): PubSub {
  const projectId = resolveProjectId(options.projectId);
  const emulator = options.emulatorHost ?? process.env.PUBSUB_EMULATOR_HOST;
  if (!emulator) return new PubSub(projectId ? { projectId } : {});
  return new PubSub({
    projectId: projectId ?? 'demo-e11',
    apiEndpoint: emulator,
    emulatorMode: true,
    universeDomain: 'googleapis.com',
  });
}
