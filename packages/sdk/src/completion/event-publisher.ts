import type { PubSub, Topic } from '@google-cloud/pubsub';

/** Publishes one message; resolves with its message id. The seam for fault-injection in tests. */
export interface EventPublisher {
  publish(topic: string, message: { data: Buffer; attributes: Record<string, string> }): Promise<string>;
}

/**
 * An {@link EventPublisher} over a Pub/Sub client. Each message is sent at once (no 10 ms batching
 * window): completion events are rare and latency matters more than batching.
 */
export function createPubSubPublisher(pubsub: PubSub): EventPublisher {
  const topics = new Map<string, Topic>();
  return {
    publish(name, message) {
      let topic = topics.get(name);
      if (!topic) {
        topic = pubsub.topic(name, { batching: { maxMessages: 1, maxMilliseconds: 0 } });
        topics.set(name, topic);
      }
      return topic.publishMessage(message);
    },
  };
}
