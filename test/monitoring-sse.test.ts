import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { completeJob, recordProgress } from '@e11/core';
import {
  authorizeByTag,
  createSseHandler,
  type JobEvent,
  type OrchestrationInfo,
  type ProgressEvent,
} from '@e11/sdk';
import { activeListenerCount, formatEventId } from '@e11/sdk/testing';
import { Timestamp } from '@google-cloud/firestore';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import {
  claim,
  detectCompletion,
  ensureTopic,
  monitoringService,
  runToCompletion,
  runToFailure,
} from './helpers/monitoring.js';
import { emulatorClients, storeFor, testProjectId } from './helpers/project.js';
import { SseClient } from './helpers/sse-client.js';

const projectId = testProjectId('monitoring-sse');
const { firestore, pubsub } = emulatorClients(projectId);
const service = monitoringService(firestore, pubsub, 's_');
const store = storeFor(firestore, { collectionPrefix: 's_' });
const handler = createSseHandler(service, {
  authorize: authorizeByTag('customerId', (req) => req.headers['x-customer-id']),
  keepAliveMs: 100,
});
let server: Server;
let base: string;
const clients: SseClient[] = [];

async function connect(id: string, headers: Record<string, string> = { 'x-customer-id': 'acme' }) {
  const client = await SseClient.connect(`${base}/orchestrations/${encodeURIComponent(id)}/events`, headers);
  clients.push(client);
  return client;
}

async function kickOff(n: number, customerId = 'acme') {
  const params = Array.from({ length: n }, (_, i) => ({ chunk: i, apiKey: `secret-${i}` }));
  return service.kickOffJob('process_batch', params, { tags: { customerId }, sensitiveKeys: ['apiKey'] });
}

beforeAll(async () => {
  await ensureTopic(pubsub);
  server = createServer((req, res) => void handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await vi.waitFor(() => expect(activeListenerCount()).toBe(0));
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await service.close();
  await firestore.terminate();
  await pubsub.close();
});

describe('createSseHandler', () => {
  it('streams status, progress and job transitions, then completed, and ends the response', async () => {
    const { orchestrationId, jobIds } = await kickOff(2);
    const [first, second] = jobIds as [string, string];
    const client = await connect(orchestrationId);
    expect(client.status).toBe(200);
    expect(client.response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(client.response.headers.get('cache-control')).toBe('no-cache, no-transform');

    const status = await client.next();
    expect(status.event).toBe('status');
    expect(status.data).toMatchObject({ id: orchestrationId, status: 'InProgress', total: 2, progress: 0 });

    const claimId = await claim(store, orchestrationId, first);
    const running = await client.next((m) => m.event === 'job');
    expect(running.data).toMatchObject({
      jobId: first,
      index: 0,
      status: 'InProgress',
      previousStatus: 'Pending',
    });
    await recordProgress(store, { orchestrationId, jobId: first, claimId }, 0.25, 'a quarter');
    const progressed = await client.next((m) => m.event === 'job');
    expect((progressed.data as JobEvent).progress).toEqual({ ratio: 0.25, message: 'a quarter' });

    await runToFailure(store, orchestrationId, second, 'quota exceeded', 'E11_JOB_FAILED');
    const failed = await client.next((m) => m.event === 'job' && (m.data as JobEvent).status === 'Errored');
    expect(failed.data).toMatchObject({
      jobId: second,
      error: { code: 'E11_JOB_FAILED', message: 'quota exceeded' },
      deadLettered: true,
    });
    // Job events never carry params (nor results).
    expect(JSON.stringify(client.messages)).not.toContain('secret-');
    // Counts come from the counter shards' listener, job transitions from the jobs listener: either may be first.
    const counts = await client.find(
      (m) => m.event === 'progress' && (m.data as ProgressEvent).counts.errored === 1,
    );
    expect((counts.data as ProgressEvent).progress).toBe(0.5);

    await completeJob(store, { orchestrationId, jobId: first, claimId, result: { ok: true } });
    await detectCompletion(store, pubsub, orchestrationId);
    const completed = await client.next((m) => m.event === 'completed');
    expect(completed.data).toMatchObject({
      id: orchestrationId,
      status: 'Errored',
      progress: 1,
      counts: { completed: 1, errored: 1 },
    });
    await client.done;
    expect(client.ended).toBe(true);
    // Every event after the first jobs snapshot carries an id: `<read time>-<sequence>`.
    expect(completed.id).toMatch(/^\d+\.\d{9}-\d+$/);
    expect(client.messages.at(-1)?.event).toBe('completed');
    expect(activeListenerCount()).toBe(0);
  });

  it('sends a keep-alive comment while nothing happens', async () => {
    const { orchestrationId } = await kickOff(1);
    const client = await connect(orchestrationId);
    await client.next((m) => m.event === 'status');
    expect(await client.nextComment()).toBe('keep-alive');
  });

  it('refuses with 403 a caller whose tag does not match, and streams nothing', async () => {
    const { orchestrationId } = await kickOff(1, 'globex');
    for (const headers of [{ 'x-customer-id': 'acme' }, {}] as Record<string, string>[]) {
      const client = await connect(orchestrationId, headers);
      expect(client.status).toBe(403);
      expect(client.response.headers.get('content-type')).toContain('application/json');
      expect(await client.response.json()).toEqual({
        error: { code: 'E11_FORBIDDEN', message: `Not allowed to watch orchestration ${orchestrationId}.` },
      });
    }
    expect(activeListenerCount()).toBe(0);
  });

  it('answers 404 for an unknown id, a malformed id and a path without an id, and 405 for other methods', async () => {
    for (const id of ['no-such-orchestration', '..', 'a/b']) {
      const client = await connect(id);
      expect(client.status).toBe(404);
      expect(await client.response.json()).toMatchObject({ error: { code: 'E11_UNKNOWN_ORCHESTRATION' } });
    }
    const nowhere = await fetch(`${base}/somewhere-else`);
    expect(nowhere.status).toBe(404);
    await nowhere.body?.cancel();
    const { orchestrationId } = await kickOff(1);
    const post = await fetch(`${base}/orchestrations/${orchestrationId}/events`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET');
    await post.body?.cancel();
  });

  it('detaches every listener when the client disconnects mid-stream', async () => {
    const { orchestrationId } = await kickOff(2);
    const client = await connect(orchestrationId);
    await client.next((m) => m.event === 'status');
    expect(activeListenerCount()).toBe(3);
    await client.close();
    await vi.waitFor(() => expect(activeListenerCount()).toBe(0));
  });

  it('resumes from Last-Event-ID: the current status first, then only the jobs changed since', async () => {
    const { orchestrationId, jobIds } = await kickOff(3);
    const [a, b, c] = jobIds as [string, string, string];
    const first = await connect(orchestrationId);
    await first.next((m) => m.event === 'status');
    const claimA = await claim(store, orchestrationId, a);
    const seen = await first.next((m) => m.event === 'job' && (m.data as JobEvent).jobId === a);
    expect(seen.id).toBeDefined();
    await first.close();
    await vi.waitFor(() => expect(activeListenerCount()).toBe(0));

    // While the client is away: a completes, b starts; c does not change.
    await completeJob(store, { orchestrationId, jobId: a, claimId: claimA, result: 1 });
    await claim(store, orchestrationId, b);

    const resumed = await connect(orchestrationId, {
      'x-customer-id': 'acme',
      'last-event-id': seen.id as string,
    });
    const status = await resumed.next();
    expect(status.event).toBe('status');
    expect((status.data as OrchestrationInfo).counts).toMatchObject({
      completed: 1,
      inProgress: 1,
      pending: 1,
    });
    const replayed = [await resumed.next(), await resumed.next()];
    expect(replayed.map((m) => [m.event, (m.data as JobEvent).jobId, (m.data as JobEvent).status])).toEqual([
      ['job', a, 'Completed'],
      ['job', b, 'InProgress'],
    ]);
    // Ids keep growing across the reconnect.
    expect((replayed[1]?.id ?? '') > (seen.id ?? '')).toBe(true);
    // Nothing is replayed for c, which did not change: the next event is c's own new change.
    await runToCompletion(store, orchestrationId, c);
    const next = await resumed.next((m) => m.event === 'job');
    expect(next.data).toMatchObject({ jobId: c });
  });

  it.each([
    ['malformed', 'garbage'],
    ['from two hours ago', formatEventId(Timestamp.fromMillis(Date.now() - 2 * 3_600_000), 7)],
    ['from the future', formatEventId(Timestamp.fromMillis(Date.now() + 3_600_000), 1)],
  ])('answers a %s Last-Event-ID with a fresh status snapshot and no replay', async (_, lastEventId) => {
    const { orchestrationId, jobIds } = await kickOff(2);
    await runToCompletion(store, orchestrationId, jobIds[0] as string);
    const client = await connect(orchestrationId, { 'x-customer-id': 'acme', 'last-event-id': lastEventId });
    expect(client.status).toBe(200);
    const status = await client.next();
    expect(status.event).toBe('status');
    expect((status.data as OrchestrationInfo).counts.completed).toBe(1);
    // The next event is the next live change, not a replay of job 0.
    await claim(store, orchestrationId, jobIds[1] as string);
    const next = await client.next((m) => m.event === 'job');
    expect(next.data).toMatchObject({ jobId: jobIds[1], status: 'InProgress' });
    // The ids the stream hands out are its own read times, whatever the client sent.
    expect(next.id).toMatch(/^\d+\.\d{9}-\d+$/);
    expect(next.id).not.toBe(lastEventId);
    expect(Number(next.id?.split('.')[0]) * 1000).toBeLessThanOrEqual(Date.now());
  });

  it('sends completed at once for an orchestration that already ended', async () => {
    const { orchestrationId, jobIds } = await kickOff(1);
    await runToCompletion(store, orchestrationId, jobIds[0] as string);
    await detectCompletion(store, pubsub, orchestrationId);
    const client = await connect(orchestrationId);
    await client.done;
    expect(client.messages.map((m) => m.event)).toEqual(['status', 'completed']);
  });

  it('sends stream-error and ends when the orchestration is deleted mid-stream', async () => {
    const { orchestrationId } = await kickOff(1);
    const client = await connect(orchestrationId);
    await client.next((m) => m.event === 'status');
    await firestore.recursiveDelete(store.collections.orchestration(orchestrationId));
    const error = await client.next((m) => m.event === 'stream-error');
    expect(error.data).toMatchObject({ code: 'E11_UNKNOWN_ORCHESTRATION' });
    await client.done;
  });

  it('requires an authorize function', () => {
    expect(() => createSseHandler(service, {} as never)).toThrow(/authorize/);
  });
});
