import { randomUUID } from 'node:crypto';

import type { Firestore } from '@google-cloud/firestore';
import type { PubSub } from '@google-cloud/pubsub';

import { median, round } from './stats.js';

/** The raw latency floor of completion detection, measured in the same run as E11's. */
export interface FloorResult {
  samples: number;
  /** A Firestore write until the writer's own listener sees it (median ms). */
  firestoreWriteToListenerMs: number;
  /** A Pub/Sub publish until a streaming subscriber receives it (median ms). */
  publishToReceiveMs: number;
  /** The sum: the least any "last write → event received" path can take here. */
  floorMs: number;
}

async function firestoreWriteToListener(firestore: Firestore): Promise<number> {
  const ref = firestore.collection('bench_floor').doc(randomUUID());
  await ref.set({ n: 0 });
  return new Promise<number>((resolve, reject) => {
    let start = 0;
    const unsubscribe = ref.onSnapshot((snapshot) => {
      if (start === 0) {
        start = performance.now();
        void ref.set({ n: 1 });
        return;
      }
      if (snapshot.get('n') === 1) {
        unsubscribe();
        resolve(performance.now() - start);
      }
    }, reject);
  });
}

/**
 * Measures 3's baseline: `samples` times each, a Firestore write seen by a listener, and a Pub/Sub
 * publish (sent at once, as E11's publisher does) received by a streaming subscriber.
 */
export async function measureFloor(firestore: Firestore, pubsub: PubSub, samples = 30): Promise<FloorResult> {
  const writes: number[] = [];
  for (let i = 0; i < samples; i++) writes.push(await firestoreWriteToListener(firestore));

  const [topic] = await pubsub.createTopic(`bench-floor-${randomUUID()}`);
  const [subscription] = await topic.createSubscription(`bench-floor-sub-${randomUUID()}`);
  const publisher = pubsub.topic(topic.name, { batching: { maxMessages: 1, maxMilliseconds: 0 } });
  const pending = new Map<string, (at: number) => void>();
  subscription.on('message', (message: { data: Buffer; ack(): void }) => {
    message.ack();
    pending.get(message.data.toString('utf8'))?.(performance.now());
  });
  const publishes: number[] = [];
  for (let i = 0; i < samples; i++) {
    const id = randomUUID();
    const received = new Promise<number>((resolve) => pending.set(id, resolve));
    const start = performance.now();
    await publisher.publishMessage({ data: Buffer.from(id) });
    publishes.push((await received) - start);
  }
  await subscription.close();
  await subscription.delete();
  await topic.delete();
  const firestoreWriteToListenerMs = round(median(writes), 1);
  const publishToReceiveMs = round(median(publishes), 1);
  return {
    samples,
    firestoreWriteToListenerMs,
    publishToReceiveMs,
    floorMs: round(firestoreWriteToListenerMs + publishToReceiveMs, 1),
  };
}
