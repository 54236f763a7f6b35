import type { Fault } from './fault.js';

/** The tasks' Firestore path holds every byte for a while (heartbeats, claims and results arrive late). */
export const stallFirestore: Fault = {
  name: 'stall-firestore',
  inject({ chaos, random, config }) {
    const ms = random.int(200, config.firestoreStallMaxMs);
    chaos.firestoreProxy.stall(ms);
    return Promise.resolve(`tasks' Firestore stalled for ${ms} ms`);
  },
};

/** The tasks' Firestore connections are reset (clients see UNAVAILABLE and reconnect). */
export const cutFirestore: Fault = {
  name: 'cut-firestore',
  inject({ chaos }) {
    chaos.firestoreProxy.cut();
    return Promise.resolve(`tasks' Firestore connections cut`);
  },
};

/** The functions' Pub/Sub path holds every byte for a while: a publish slower than usual, or than the lease. */
export const stallPubSub: Fault = {
  name: 'stall-pubsub',
  inject({ chaos, random, config }) {
    const ms = random.int(500, config.pubsubStallMaxMs);
    chaos.pubsubProxy.stall(ms);
    return Promise.resolve(`functions' Pub/Sub stalled for ${ms} ms`);
  },
};
