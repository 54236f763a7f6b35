import type { PubSub, Topic } from '@google-cloud/pubsub';

import { DEFAULTS } from '../defaults.js';

/** Publishes one message; resolves with its message id. The seam for fault-injection in tests. */
export interface EventPublisher {
  publish(topic: string, message: { data: Buffer; attributes: Record<string, string> }): Promise<string>;
}

/** Options of {@link createPubSubPublisher}. */
export interface PubSubPublisherOptions {
  /**
   * Upper bound of one publish, the client's own retries included (gax `timeout`, which caps the retry
   * budget too). Keep it under the publish lease, so no second publisher starts while this one may
   * still succeed. @default DEFAULTS.publishTimeoutMs
   */
  timeoutMs?: number;
}

/**
 * An {@link EventPublisher} over a Pub/Sub client. Each message is sent at once (no 10 ms batching
 * window): completion events are rare and latency matters more than batching. A publish gives up after
 * `timeoutMs` instead of the client's default of retrying for minutes.
 */
export function createPubSubPublisher(pubsub: PubSub, options: PubSubPublisherOptions = {}): EventPublisher {
  const timeout = options.timeoutMs ?? DEFAULTS.publishTimeoutMs;
  const topics = new Map<string, Topic>();
  return {
    publish(name, message) {
      let topic = topics.get(name);
      if (!topic) {
        topic = pubsub.topic(name, {
          batching: { maxMessages: 1, maxMilliseconds: 0 },
          gaxOpts: { timeout },
        });
        topics.set(name, topic);
      }
      return topic.publishMessage(message);
    },
  };
}
