import { createFirestore, createPubSubPublisher, type EventPublisher } from '@e11/core';
import type { Firestore } from '@google-cloud/firestore';
import type { PubSub } from '@google-cloud/pubsub';

/** One Firestore client per project and database, one Pub/Sub publisher per project, created on first use. */
export interface ProjectClients {
  /** @param databaseId @default E11_FIRESTORE_DATABASE, or DEFAULTS.firestoreDatabase */
  firestoreFor(projectId: string, databaseId?: string): Firestore;
  publisherFor(projectId: string): EventPublisher;
  /** Closes every client created so far. */
  close(): Promise<void>;
}

/**
 * Clients per project id, from the CloudEvent's source: in production a function serves one project;
 * locally one Functions Framework process may serve several test projects. Both clients honour
 * FIRESTORE_EMULATOR_HOST / PUBSUB_EMULATOR_HOST. The Pub/Sub client is loaded on the first publish
 * only, so a cold start that handles an ordinary job write loads Firestore alone.
 */
export function createProjectClients(): ProjectClients {
  const firestores = new Map<string, Firestore>();
  const pubsubs = new Map<string, Promise<PubSub>>();
  const publishers = new Map<string, EventPublisher>();

  const pubsubFor = (projectId: string): Promise<PubSub> => {
    let pubsub = pubsubs.get(projectId);
    if (!pubsub) {
      pubsub = import('@e11/core/engine').then(({ createPubSub }) => createPubSub({ projectId }));
      pubsubs.set(projectId, pubsub);
    }
    return pubsub;
  };

  return {
    firestoreFor(projectId, databaseId) {
      const key = `${projectId}/${databaseId ?? ''}`;
      let firestore = firestores.get(key);
      if (!firestore) {
        firestore = createFirestore({ projectId, databaseId });
        firestores.set(key, firestore);
      }
      return firestore;
    },
    publisherFor(projectId) {
      let publisher = publishers.get(projectId);
      if (!publisher) {
        let inner: EventPublisher | undefined;
        publisher = {
          async publish(topic, message) {
            inner ??= createPubSubPublisher(await pubsubFor(projectId));
            return inner.publish(topic, message);
          },
        };
        publishers.set(projectId, publisher);
      }
      return publisher;
    },
    async close() {
      const closing = [
        ...[...firestores.values()].map((firestore) => firestore.terminate()),
        ...[...pubsubs.values()].map(async (pubsub) => (await pubsub).close()),
      ];
      firestores.clear();
      pubsubs.clear();
      publishers.clear();
      await Promise.all(closing);
    },
  };
}
