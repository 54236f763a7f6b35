import { randomUUID } from 'node:crypto';

import { Firestore } from '@google-cloud/firestore';
import { PubSub } from '@google-cloud/pubsub';
import { afterAll, describe, expect, inject, it } from 'vitest';

const projectId = `smoke-${randomUUID().slice(0, 8)}`;
const [firestoreHost, firestorePort] = inject('firestoreHost').split(':');
const firestore = new Firestore({
  projectId,
  host: firestoreHost,
  port: Number(firestorePort),
  ssl: false,
  customHeaders: { Authorization: 'Bearer owner' },
  universeDomain: 'googleapis.com',
});
const pubsub = new PubSub({ projectId, apiEndpoint: inject('pubsubHost'), emulatorMode: true });

afterAll(async () => {
  await pubsub.close();
  await firestore.terminate();
});

describe('the local emulator stack', () => {
  it('stores and reads back a Firestore document through @google-cloud/firestore', async () => {
    const ref = firestore.collection('smoke').doc(randomUUID());
    await ref.set({ hello: 'world', at: 42 });
    const snapshot = await ref.get();
    expect(snapshot.exists).toBe(true);
    expect(snapshot.data()).toEqual({ hello: 'world', at: 42 });
  });

  it('publishes a message and pulls it back through @google-cloud/pubsub', async () => {
    const [topic] = await pubsub.createTopic(`smoke-${randomUUID()}`);
    const [subscription] = await topic.createSubscription(`smoke-sub-${randomUUID()}`);
    const received = new Promise<{ data: string; attributes: Record<string, string> }>((resolve) => {
      subscription.once(
        'message',
        (message: { data: Buffer; attributes: Record<string, string>; ack(): void }) => {
          message.ack();
          resolve({ data: message.data.toString('utf8'), attributes: message.attributes });
        },
      );
    });
    const payload = `ping-${randomUUID()}`;
    await topic.publishMessage({ data: Buffer.from(payload), attributes: { kind: 'smoke' } });
    await expect(received).resolves.toEqual({ data: payload, attributes: { kind: 'smoke' } });
    await subscription.close();
  });
});
