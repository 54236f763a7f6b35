import { randomUUID } from 'node:crypto';

import { isE11Error, type JobCompletedEvent } from '@e11/core';
import { type JobCompletedMessage, subscribeToJobCompleted } from '@e11/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  type CompletionHarness,
  registerJobs,
  runJobs,
  startCompletionHarness,
} from './helpers/completion.js';

// subscribeToJobCompleted against events the real function published on the Pub/Sub emulator.
let harness: CompletionHarness;
beforeAll(async () => {
  harness = await startCompletionHarness('subscribe-filter');
});
afterAll(() => harness.close());

/** Something to await until a condition becomes true, woken by the callbacks under test. */
function signal() {
  const waiters = new Set<() => void>();
  return {
    notify: () => waiters.forEach((wake) => wake()),
    async until(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (!condition()) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error('Condition not met in time.');
        await new Promise<void>((resolve) => {
          const wake = () => {
            clearTimeout(timer);
            waiters.delete(wake);
            resolve();
          };
          const timer = setTimeout(wake, left);
          waiters.add(wake);
        });
      }
    },
  };
}

async function finishOrchestration(customerId: string): Promise<string> {
  const { orchestrationId, jobIds } = await registerJobs(harness.store, 1, { tags: { customerId } });
  await runJobs(harness.store, orchestrationId, jobIds);
  return orchestrationId;
}

describe('subscribeToJobCompleted', () => {
  it('delivers only the events of its customer to a subscriber with a tag filter', async () => {
    const { pubsub, topic, log } = harness;
    const received: JobCompletedEvent[] = [];
    const errors: { error: unknown; message?: JobCompletedMessage }[] = [];
    const changed = signal();
    const subscription = await subscribeToJobCompleted(
      pubsub,
      { topic },
      (event) => {
        received.push(event);
        changed.notify();
      },
      {
        filter: { customerId: 'acme' },
        onError: (error, message) => {
          errors.push({ error, message });
          changed.notify();
        },
      },
    );
    try {
      // The created subscription carries the filter for Pub/Sub to apply server-side.
      const [metadata] = await pubsub.subscription(subscription.subscriptionName).getMetadata();
      expect(metadata.filter).toBe('attributes.customerId = "acme"');

      const [acme, globex] = await Promise.all([finishOrchestration('acme'), finishOrchestration('globex')]);
      // Both events were published on the topic...
      await log.waitFor((m) => m.attributes.orchestrationId === acme);
      await log.waitFor((m) => m.attributes.orchestrationId === globex);
      // ...and once a later (invalid) message reached the subscriber, only acme's was handled.
      const sentinel = randomUUID();
      await pubsub
        .topic(topic)
        .publishMessage({ data: Buffer.from('not an event'), attributes: { sentinel } });
      await changed.until(
        () => received.length > 0 && errors.some((e) => e.message?.attributes.sentinel === sentinel),
      );
      expect(received.map((event) => event.orchestrationId)).toEqual([acme]);
      expect(received[0]).toMatchObject({ tags: { customerId: 'acme' }, status: 'Completed', total: 1 });
      expect(errors).toHaveLength(1);
      expect(isE11Error(errors[0]?.error, 'E11_INVALID_EVENT')).toBe(true);
    } finally {
      await subscription.close();
    }
    const [exists] = await pubsub.subscription(subscription.subscriptionName).exists();
    expect(exists).toBe(false);
  });

  it('acknowledges only after the handler resolves: a throwing handler gets the event again', async () => {
    const { pubsub, topic } = harness;
    const name = `existing-${randomUUID().slice(0, 8)}`;
    await pubsub.topic(topic).createSubscription(name);
    const calls: { eventId: string }[] = [];
    const errors: unknown[] = [];
    const changed = signal();
    const subscription = await subscribeToJobCompleted(
      pubsub,
      name,
      (event) => {
        calls.push({ eventId: event.eventId });
        changed.notify();
        if (calls.length === 1) throw new Error('downstream unavailable');
      },
      {
        filter: (event) => event.tags.customerId === 'hooli',
        onError: (error) => {
          errors.push(error);
          changed.notify();
        },
      },
    );
    try {
      expect(subscription.subscriptionName).toBe(name);
      const orchestrationId = await finishOrchestration('hooli');
      await changed.until(() => calls.length >= 2);
      expect(calls.map((call) => call.eventId)).toEqual([`${orchestrationId}:1`, `${orchestrationId}:1`]);
      expect(errors).toEqual([expect.objectContaining({ message: 'downstream unavailable' })]);
    } finally {
      await subscription.close();
      // A subscription the caller named is the caller's: close() keeps it.
      const [exists] = await pubsub.subscription(name).exists();
      expect(exists).toBe(true);
      await pubsub.subscription(name).delete();
    }
  });

  it('gives the subscription it creates an expiration policy (a day by default), so a crashed consumer leaks nothing for long', async () => {
    const { pubsub, topic } = harness;
    const subscription = await subscribeToJobCompleted(pubsub, { topic }, () => undefined);
    const longer = await subscribeToJobCompleted(pubsub, { topic, expireAfterIdle: '7d' }, () => undefined);
    try {
      const [metadata] = await pubsub.subscription(subscription.subscriptionName).getMetadata();
      expect(Number(metadata.expirationPolicy?.ttl?.seconds)).toBe(86_400);
      const [custom] = await pubsub.subscription(longer.subscriptionName).getMetadata();
      expect(Number(custom.expirationPolicy?.ttl?.seconds)).toBe(7 * 86_400);
    } finally {
      await subscription.close();
      await longer.close();
    }
    const tooShort = await subscribeToJobCompleted(
      pubsub,
      { topic, expireAfterIdle: '1h' },
      () => undefined,
    ).catch((error: unknown) => error);
    expect(isE11Error(tooShort, 'E11_INVALID_OPTIONS')).toBe(true);
  });
});
