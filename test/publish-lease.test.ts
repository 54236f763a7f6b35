import { randomUUID } from 'node:crypto';

import {
  checkCompletion,
  completionDocSchema,
  createPubSubPublisher,
  DEFAULTS,
  createStore,
  type EventPublisher,
  parseDocument,
  retryPublish,
  type Store,
} from '@e11/core';
import { createPubSub } from '@e11/core/engine';
import type { Subscription } from '@google-cloud/pubsub';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { MessageLog, registerJobs, runJobs } from './helpers/completion.js';
import { emulatorClients, testProjectId } from './helpers/project.js';
import { TcpProxy } from './helpers/tcp-proxy.js';

// Two publishers racing on one completion marker, on the real emulators: the first one is slower than
// its lease (a gate in front of the REAL Pub/Sub publisher holds its publish), the second one takes the
// lease over. Time moves on an injected clock, so "the lease expired" needs no waiting.
const projectId = testProjectId('publish-lease');
const { firestore, pubsub } = emulatorClients(projectId);
const clock = { ms: Date.now(), now: () => clock.ms };
const store: Store = createStore({ firestore, clock });
const topic = `lease-${randomUUID().slice(0, 8)}`;
const real = createPubSubPublisher(pubsub);
const LEASE_MS = 60_000;
let subscription: Subscription;
let log: MessageLog;

beforeAll(async () => {
  await pubsub.createTopic(topic);
  [subscription] = await pubsub.topic(topic).createSubscription(`watch-${randomUUID().slice(0, 8)}`);
  log = new MessageLog(subscription);
});
afterAll(async () => {
  await subscription.close();
  await pubsub.close();
  await firestore.terminate();
});

/** A publisher in front of the real one whose publish waits until the test lets it go on or fail. */
class GatedPublisher implements EventPublisher {
  private letGo: (outcome: Error | null) => void = () => undefined;
  private readonly decided = new Promise<Error | null>((resolve) => (this.letGo = resolve));
  private markStarted: () => void = () => undefined;
  /** Resolves once a publish reached the gate. */
  readonly started = new Promise<void>((resolve) => (this.markStarted = resolve));

  async publish(name: string, message: { data: Buffer; attributes: Record<string, string> }) {
    this.markStarted();
    const failure = await this.decided;
    if (failure) throw failure;
    return real.publish(name, message);
  }

  pass(): void {
    this.letGo(null);
  }

  fail(error: Error): void {
    this.letGo(error);
  }
}

async function endedOrchestration(): Promise<string> {
  const { orchestrationId, jobIds } = await registerJobs(store, 1, { topic });
  await runJobs(store, orchestrationId, jobIds);
  return orchestrationId;
}

async function readMarker(orchestrationId: string) {
  return parseDocument(completionDocSchema, await store.collections.completion(orchestrationId, 1).get());
}

/** The messages of `orchestrationId` on the topic, once a sentinel published after them has arrived. */
async function drainedMessagesOf(orchestrationId: string, expected: number) {
  // Pub/Sub keeps no order without ordering keys: the sentinel may overtake the messages, so wait for
  // the expected ones first, then for the sentinel published after them (a late extra one shows then).
  const ofOrchestration = () =>
    log.messages.filter((message) => message.attributes.orchestrationId === orchestrationId);
  await log.waitFor(() => ofOrchestration().length >= expected);
  const sentinel = randomUUID();
  await pubsub.topic(topic).publishMessage({ data: Buffer.from('sentinel'), attributes: { sentinel } });
  await log.waitFor((message) => message.attributes.sentinel === sentinel);
  return ofOrchestration();
}

describe('the publish lease is fenced by its holder', () => {
  it('a publisher that outlived its lease and then failed leaves the new holder its lease: one message', async () => {
    const orchestrationId = await endedOrchestration();
    const first = new GatedPublisher();
    const firstCall = checkCompletion({ store, publisher: first, leaseMs: LEASE_MS }, orchestrationId);
    await first.started;
    const firstHolder = (await readMarker(orchestrationId)).leaseHolder;

    clock.ms += LEASE_MS + 1; // the first publish is still in flight when its lease ends
    const second = new GatedPublisher();
    const secondCall = retryPublish({ store, publisher: second, leaseMs: LEASE_MS }, orchestrationId, 1);
    await second.started;
    const taken = await readMarker(orchestrationId);

    first.fail(new Error('DEADLINE_EXCEEDED: publish took longer than its lease'));
    await expect(firstCall).rejects.toThrow('DEADLINE_EXCEEDED');
    const afterFailure = await readMarker(orchestrationId);
    expect(afterFailure.leaseUntil?.toMillis()).toBe(taken.leaseUntil?.toMillis());
    expect(afterFailure).toMatchObject({ published: false, publishAttempts: 1 });
    expect(afterFailure.leaseHolder).toBe(taken.leaseHolder);
    expect(taken.leaseHolder).not.toBe(firstHolder);

    // A redelivered trigger (or the sweeper) comes now: the lease is the second publisher's.
    const third = await retryPublish({ store, publisher: real, leaseMs: LEASE_MS }, orchestrationId, 1);
    expect(third.outcome).toBe('already-ended');

    second.pass();
    const published = await secondCall;
    expect(published.outcome).toBe('published');
    const marker = await readMarker(orchestrationId);
    expect(marker).toMatchObject({
      published: true,
      publishAttempts: 2,
      leaseUntil: null,
      leaseHolder: null,
    });
    expect(marker.messageId).toBe(published.outcome === 'published' ? published.messageId : 'none');
    const messages = await drainedMessagesOf(orchestrationId, 1);
    expect(messages).toHaveLength(1);
  });

  it('a late success of a publisher that outlived its lease keeps the first recorded messageId', async () => {
    const orchestrationId = await endedOrchestration();
    const first = new GatedPublisher();
    const firstCall = checkCompletion({ store, publisher: first, leaseMs: LEASE_MS }, orchestrationId);
    await first.started;

    clock.ms += LEASE_MS + 1;
    const second = await retryPublish({ store, publisher: real, leaseMs: LEASE_MS }, orchestrationId, 1);
    if (second.outcome !== 'published') throw new Error(`second publisher: ${second.outcome}`);

    // The first publish lands after all: the one case with a second message (the README states it).
    first.pass();
    const late = await firstCall;
    expect(late.outcome).toBe('published');
    const marker = await readMarker(orchestrationId);
    expect(marker).toMatchObject({ published: true, messageId: second.messageId, publishAttempts: 2 });
    const orchestration = await store.collections.orchestration(orchestrationId).get();
    expect(orchestration.get('eventPending')).toBe(false);
    const messages = await drainedMessagesOf(orchestrationId, 2);
    expect(messages).toHaveLength(2);
    const eventIds = messages.map(
      (message) => (JSON.parse(message.data.toString()) as { eventId: string }).eventId,
    );
    expect(new Set(eventIds)).toEqual(new Set([`${orchestrationId}:1`]));
  });

  // The client's own bound is not tight: through a refused connection a 1.5 s publish ended after
  // 1.9-6.6 s here, and after more than 15 s on a loaded machine (its connection backoff adds to the
  // timeout). What the lease needs is that the overshoot stays under the slack between the publish
  // timeout and the lease (30 s with the defaults), so that is what this checks.
  it('a publish through a stalled Pub/Sub connection gives up within the slack between its timeout and the lease', async () => {
    const [host = '', port = ''] = inject('pubsubHost').split(':');
    const proxy = new TcpProxy({ host, port: Number(port) });
    await proxy.start();
    const cut = createPubSub({ projectId, emulatorHost: proxy.hostPort });
    try {
      await proxy.pause(); // every connection refused: the client retries UNAVAILABLE
      const publisher = createPubSubPublisher(cut, { timeoutMs: 1_500 });
      const slackMs = DEFAULTS.publishRetryAfterMs - DEFAULTS.publishTimeoutMs;
      const startedAt = Date.now();
      const outcome = await Promise.race([
        publisher.publish(topic, { data: Buffer.from('x'), attributes: {} }).then(
          () => 'published',
          () => 'failed',
        ),
        new Promise<string>((resolve) => setTimeout(() => resolve('still retrying'), slackMs).unref()),
      ]);
      expect(outcome).toBe('failed');
      expect(Date.now() - startedAt).toBeLessThan(slackMs);
    } finally {
      await cut.close();
      await proxy.stop();
    }
  });
});
