import { randomUUID } from 'node:crypto';

import { completionDocSchema, loadOrchestration, parseDocument } from '@e11/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  type CompletionHarness,
  drainWithSentinel,
  EVENTS_PER_JOB,
  MessageLog,
  registerJobs,
  runJobs,
  startCompletionHarness,
} from './helpers/completion.js';

// Eventarc is at-least-once and unordered, and a publish can fail after the completion marker was
// written. The bridge injects the first two (route faults); Pub/Sub itself the third: the topic is
// deleted before the end, so the function's publish fails (NOT_FOUND), and created again afterwards.
const FLAKY_TOPIC = 'e11-flaky-topic';

let noisy: CompletionHarness;
let flaky: CompletionHarness;
beforeAll(async () => {
  [noisy, flaky] = await Promise.all([
    startCompletionHarness('functions-dup', { faults: { duplicate: true, shuffle: { maxDelayMs: 250 } } }),
    startCompletionHarness('functions-flaky', {
      topic: FLAKY_TOPIC,
      faults: { holdFailed: true },
    }),
  ]);
});
afterAll(async () => {
  await Promise.all([noisy?.close(), flaky?.close()]);
});

describe('onJobWritten under trigger faults', () => {
  it('publishes exactly one event when every change is delivered twice and out of order', async () => {
    const { store, log, trigger } = noisy;
    const total = 60;
    const before = await trigger.stats();
    const { orchestrationId, jobIds } = await registerJobs(noisy.store, total, {
      tags: { customerId: 'initech' },
    });
    await runJobs(store, orchestrationId, jobIds, { fails: (index) => index < 2, concurrency: 10 });
    await log.waitFor((m) => m.attributes.orchestrationId === orchestrationId);
    const stats = await trigger.waitForIdle({ minReceived: before.received + total * EVENTS_PER_JOB });
    // Every change reached the function twice, in shuffled order.
    expect(stats.received - before.received).toBe(total * EVENTS_PER_JOB);
    expect(stats.delivered - before.delivered).toBe(2 * total * EVENTS_PER_JOB);
    expect(stats.failed).toBe(0);

    const drained = await noisy.drainWithSentinel();
    expect(drained.filter((m) => m.attributes.orchestrationId === orchestrationId)).toHaveLength(1);
    expect(log.eventsOf(orchestrationId)[0]?.event).toMatchObject({
      status: 'Errored',
      total,
      succeeded: total - 2,
      failed: 2,
    });
    const marker = parseDocument(
      completionDocSchema,
      await store.collections.completion(orchestrationId, 1).get(),
    );
    expect(marker).toMatchObject({ published: true, publishAttempts: 1 });
  });

  it('still publishes the event exactly once when the first publish fails after the marker', async () => {
    const { store, trigger, topic, pubsub } = flaky;
    const before = await trigger.stats();
    const { orchestrationId, jobIds } = await registerJobs(store, 1, {
      topic,
      tags: { customerId: 'umbrella' },
    });
    // The topic disappears before the orchestration ends: the function's publish fails.
    await pubsub.topic(topic).delete();
    await runJobs(store, orchestrationId, jobIds);

    // The terminal write's delivery failed (500: the publish failed) and is parked by the bridge.
    const failed = await trigger.waitForIdle({ minReceived: before.received + EVENTS_PER_JOB });
    expect(failed.held).toBe(1);
    expect(failed.responses['500']).toBe(1);
    expect(failed.retried - before.retried).toBe(1);
    const markerRef = store.collections.completion(orchestrationId, 1);
    expect(parseDocument(completionDocSchema, await markerRef.get())).toMatchObject({
      status: 'Completed',
      published: false,
      publishAttempts: 1,
      leaseUntil: null,
      messageId: null,
      lastPublishError: expect.stringMatching(/NOT_FOUND|not found/i) as unknown,
    });
    expect(await loadOrchestration(store, orchestrationId)).toMatchObject({
      status: 'Completed',
      eventPending: true,
    });
    // The function logged why before answering 500; its log line may reach this process a little after
    // the bridge saw the answer (another pipe).
    await flaky.functions.waitForOutput(/Completion check failed; the event will be retried/, 10_000);

    // The topic is back (with a new subscription to watch it) and the bridge retries the delivery (as Eventarc with retries does): the redelivery publishes.
    await pubsub.createTopic(topic);
    const [subscription] = await pubsub.topic(topic).createSubscription(`again-${randomUUID().slice(0, 8)}`);
    const log = new MessageLog(subscription);
    expect(await trigger.release()).toBe(1);
    const retried = await trigger.waitForIdle({ minReceived: before.received + EVENTS_PER_JOB });
    expect(retried).toMatchObject({ held: 0, failed: 0 });
    expect(retried.delivered - before.delivered).toBe(EVENTS_PER_JOB);
    await log.waitFor((m) => m.attributes.orchestrationId === orchestrationId);
    const drained = await drainWithSentinel(pubsub, topic, log);
    await subscription.close();
    expect(drained.filter((m) => m.attributes.orchestrationId === orchestrationId)).toHaveLength(1);
    expect(log.eventsOf(orchestrationId)[0]?.event).toMatchObject({
      orchestrationId,
      status: 'Completed',
      tags: { customerId: 'umbrella' },
    });
    expect(parseDocument(completionDocSchema, await markerRef.get())).toMatchObject({
      published: true,
      publishAttempts: 2,
    });
    expect(await loadOrchestration(store, orchestrationId)).toMatchObject({ eventPending: false });
  });
});
