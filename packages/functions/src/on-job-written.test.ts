import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';

import {
  claimJob,
  cloudLoggingOptions,
  completeJob,
  createFirestore,
  createPubSubPublisher,
  createStore,
  defaultJobPolicy,
  type EventPublisher,
  failJob,
  jobIdFor,
  registerOrchestration,
} from '@e11/core';
import { createPubSub } from '@e11/core/engine';
import * as functions from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import type { Message } from '@google-cloud/pubsub';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { documentEventDataType } from './document-event-data.js';
import { createJobWrittenHandler } from './on-job-written.js';

// The handler behind the Functions Framework's own HTTP stack (in-process), on the real emulators.
const projectId = `functions-unit-${randomUUID().slice(0, 8)}`;
const firestore = createFirestore({ projectId, emulatorHost: inject('firestoreHost') });
const pubsub = createPubSub({ projectId, emulatorHost: inject('pubsubHost') });
const store = createStore({ firestore });
const topicName = `events-${randomUUID().slice(0, 8)}`;
const faultyTopicName = `faulty-${randomUUID().slice(0, 8)}`;

/** Every log line the handler writes. */
const logLines: Record<string, unknown>[] = [];
const logger = pino(
  cloudLoggingOptions({ level: 'info' }),
  new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logLines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      callback();
    },
  }),
);

/** Why the first publish to the faulty topic fails (the publisher the handler is given throws it). */
const INJECTED_FAILURE = 'injected: the first publish to this topic fails';

/**
 * The real Pub/Sub publisher, counting successful publishes, injected through the handler's
 * `publisherFor` dependency: its first publish to `faultyTopicName` fails, as a publish that errors
 * after the completion marker was written.
 */
const realPublisher = createPubSubPublisher(pubsub);
let published = 0;
let faultyTopicFailed = false;
const countingPublisher: EventPublisher = {
  async publish(topic, message) {
    if (topic === faultyTopicName && !faultyTopicFailed) {
      faultyTopicFailed = true;
      throw new Error(INJECTED_FAILURE);
    }
    const id = await realPublisher.publish(topic, message);
    published++;
    return id;
  },
};
let firestoreLookups = 0;
const handler = createJobWrittenHandler({
  firestoreFor: () => {
    firestoreLookups++;
    return firestore;
  },
  publisherFor: () => countingPublisher,
  logger,
});
const functionName = `onJobWrittenTest_${randomUUID().slice(0, 8)}`;
functions.cloudEvent(functionName, handler);
const server = getTestServer(functionName);
let baseUrl = '';

/** Messages received per topic's subscription. */
const received = new Map<string, Message[]>();
const waiters: (() => void)[] = [];
const subscriptions: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  for (const name of [topicName, faultyTopicName]) {
    const [topic] = await pubsub.createTopic(name);
    const [subscription] = await topic.createSubscription(`${name}-sub`);
    received.set(name, []);
    subscription.on('message', (message: Message) => {
      message.ack();
      received.get(name)?.push(message);
      for (const wake of waiters.splice(0)) wake();
    });
    subscriptions.push(subscription);
  }
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  for (const subscription of subscriptions) await subscription.close();
  await handler.close();
  await pubsub.close();
  await firestore.terminate();
});

async function messagesOn(topic: string, count: number): Promise<Message[]> {
  for (;;) {
    const messages = received.get(topic) ?? [];
    if (messages.length >= count) return messages;
    await new Promise<void>((resolve) => waiters.push(resolve));
  }
}

/** Proves nothing else is queued: a sentinel published now must be the next message. */
async function expectOnlyMessage(topic: string, expected: number): Promise<Message[]> {
  await pubsub.topic(topic).publishMessage({ data: Buffer.from('sentinel') });
  const messages = await messagesOn(topic, expected + 1);
  expect(messages.map((message) => message.data.toString('utf8') === 'sentinel')).toEqual([
    ...Array.from({ length: expected }, () => false),
    true,
  ]);
  return messages.slice(0, expected);
}

type Encoding = 'protobuf' | 'base64' | 'json';

/** POSTs a Firestore CloudEvent for one job write, in binary mode, the way Eventarc or the emulator does. */
async function deliver(
  path: string,
  change: { old: string | null; new: string | null },
  encoding: Encoding = 'base64',
): Promise<number> {
  const name = `projects/${projectId}/databases/(default)/documents/${path}`;
  const doc = (status: string) => ({ name, fields: { status: { stringValue: status } } });
  const data: Record<string, unknown> = {};
  if (change.new) data.value = doc(change.new);
  if (change.old) data.oldValue = doc(change.old);
  const type = documentEventDataType();
  const bytes = Buffer.from(type.encode(type.fromObject(data)).finish());
  const body =
    encoding === 'json'
      ? JSON.stringify(data)
      : encoding === 'base64'
        ? bytes.toString('base64')
        : new Uint8Array(bytes);
  const response = await fetch(baseUrl, {
    method: 'POST',
    headers: {
      'ce-specversion': '1.0',
      'ce-id': randomUUID(),
      'ce-type': 'google.cloud.firestore.document.v1.written',
      'ce-source': `//firestore.googleapis.com/projects/${projectId}/databases/(default)`,
      'ce-subject': `documents/${path}`,
      'content-type': encoding === 'json' ? 'application/json' : 'application/protobuf',
    },
    body,
  });
  await response.arrayBuffer();
  return response.status;
}

const policy = defaultJobPolicy();

/** Registers an orchestration and runs every job to its end like a runner would (index % 4 === 1 fails). */
async function runOrchestration(total: number, topic: string, customerId = 'acme') {
  const id = randomUUID();
  const jobIds = Array.from({ length: total }, (_, index) => jobIdFor(id, index));
  await registerOrchestration(store, {
    orchestration: {
      id,
      jobName: 'sum_chunk',
      service: 'sum-chunk',
      tags: { customerId },
      tenant: null,
      topic,
      mode: 'per-job',
      policy,
      idempotencyKey: null,
      sensitiveKeys: [],
      deadlineAt: null,
    },
    params: jobIds.map((_, index) => ({ index })),
  });
  const claim = (jobId: string) => ({ id: jobId, executionName: null, taskIndex: null, taskAttempt: null });
  await Promise.all(
    jobIds.map(async (jobId, index) => {
      const owned = { orchestrationId: id, jobId, claimId: jobId };
      await claimJob(store, { ...owned, maxAttempts: 1, heartbeatTimeoutMs: 60_000, claim: claim(jobId) });
      if (index % 4 !== 1) return completeJob(store, { ...owned, result: index });
      return failJob(store, {
        ...owned,
        outcome: 'Errored',
        final: true,
        deadLettered: true,
        error: {
          message: 'boom',
          code: 'E11_JOB_FAILED',
          name: 'Error',
          stack: null,
          jobName: 'sum_chunk',
          orchestrationId: id,
          jobId,
          attempt: 1,
          retryable: false,
        },
      });
    }),
  );
  const status = (index: number) => (index % 4 === 1 ? 'Errored' : 'Completed');
  return { id, jobIds, status, path: (jobId: string) => `e11_orchestrations/${id}/jobs/${jobId}` };
}

function shuffled<T>(items: readonly T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}

describe('onJobWritten behind the Functions Framework', () => {
  it('answers writes that cannot end an orchestration without touching Firestore', async () => {
    const path = `e11_orchestrations/${randomUUID()}/jobs/${randomUUID()}`;
    const lookups = firestoreLookups;
    const statuses = await Promise.all([
      deliver(path, { old: null, new: 'Pending' }, 'protobuf'),
      deliver(path, { old: 'Pending', new: 'InProgress' }, 'base64'),
      deliver(path, { old: 'InProgress', new: 'InProgress' }, 'json'),
      deliver(path, { old: 'Completed', new: 'Completed' }),
      deliver(path, { old: 'Completed', new: null }),
    ]);
    expect(statuses).toEqual([204, 204, 204, 204, 204]);
    expect(firestoreLookups).toBe(lookups);
  });

  it('publishes one event when every last change arrives many times, shuffled, in every encoding', async () => {
    const run = await runOrchestration(6, topicName);
    const before = published;
    const deliveries = run.jobIds.flatMap((jobId, index) =>
      (['protobuf', 'base64', 'json', 'base64'] as const).map(
        (encoding) => () => deliver(run.path(jobId), { old: 'InProgress', new: run.status(index) }, encoding),
      ),
    );
    const statuses = await Promise.all(shuffled(deliveries).map((send) => send()));
    expect(statuses.every((status) => status === 204)).toBe(true);
    expect(published - before).toBe(1);

    const [message] = await expectOnlyMessage(topicName, 1);
    expect(JSON.parse(message?.data.toString('utf8') ?? '{}')).toMatchObject({
      type: 'JobCompletedEvent',
      orchestrationId: run.id,
      status: 'Errored',
      total: 6,
      succeeded: 4,
      failed: 2,
      tags: { customerId: 'acme' },
    });
    expect(message?.attributes).toMatchObject({
      orchestrationId: run.id,
      jobName: 'sum_chunk',
      status: 'Errored',
      customerId: 'acme',
    });
    const marker = (await store.collections.completion(run.id, 1).get()).data();
    expect(marker).toMatchObject({ published: true, publishAttempts: 1, messageId: message?.id });
  });

  it('keeps the marker unpublished when publishing fails, and publishes on the next delivery', async () => {
    const run = await runOrchestration(1, faultyTopicName);
    const jobId = run.jobIds[0] as string;
    const change = { old: 'InProgress', new: 'Completed' };

    expect(await deliver(run.path(jobId), change)).toBe(500);
    const failed = (await store.collections.completion(run.id, 1).get()).data();
    expect(failed).toMatchObject({ published: false, publishAttempts: 1, leaseUntil: null });
    expect(failed?.lastPublishError).toContain(INJECTED_FAILURE);
    expect((await store.collections.orchestration(run.id).get()).data()).toMatchObject({
      status: 'Completed',
      eventPending: true,
    });
    expect(logLines.at(-1)).toMatchObject({ severity: 'ERROR', orchestrationId: run.id });

    expect(await deliver(run.path(jobId), change)).toBe(204);
    const [message] = await expectOnlyMessage(faultyTopicName, 1);
    expect(message?.attributes).toMatchObject({ orchestrationId: run.id, status: 'Completed' });
    const marker = (await store.collections.completion(run.id, 1).get()).data();
    expect(marker).toMatchObject({ published: true, publishAttempts: 2, messageId: message?.id });
    expect((await store.collections.orchestration(run.id).get()).data()).toMatchObject({
      eventPending: false,
    });
  });

  it('acknowledges bad input with one warning line each and publishes nothing', async () => {
    const before = published;
    const linesBefore = logLines.length;
    const unknown = `e11_orchestrations/${randomUUID()}/jobs/${randomUUID()}`;
    expect(await deliver('users/u1', { old: null, new: 'Completed' })).toBe(204);
    expect(await deliver(unknown, { old: 'InProgress', new: 'Completed' })).toBe(204);
    const malformed = await fetch(baseUrl, {
      method: 'POST',
      headers: {
        'ce-specversion': '1.0',
        'ce-id': randomUUID(),
        'ce-type': 'google.cloud.firestore.document.v1.written',
        'ce-source': `//firestore.googleapis.com/projects/${projectId}/databases/(default)`,
        'ce-subject': `documents/${unknown}`,
        'content-type': 'application/protobuf',
      },
      body: new Uint8Array([0x0a, 0xff, 0xff, 0xff]),
    });
    expect(malformed.status).toBe(204);
    expect(published).toBe(before);
    expect(logLines.slice(linesBefore).map((line) => [line.severity, line.reason])).toEqual([
      ['WARNING', 'other-collection'],
      ['WARNING', 'unknown-orchestration'],
      ['WARNING', 'malformed-event'],
    ]);
  });
});
