import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { createLogger } from '@e11/core';
import { afterEach, describe, expect, it } from 'vitest';

import { startTriggerBridge, type TriggerBridge } from './bridge-server.js';
import { fetchRouteStats, setBridgeRoute } from './register-trigger.js';

/** A stand-in function endpoint: answers with `status(n)` for the n-th request (1-based). */
async function startTarget(status: (n: number) => number) {
  const requests: { headers: IncomingHttpHeaders; body: string }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      requests.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(status(requests.length)).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const running: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  for (const item of running.splice(0).reverse()) await item.stop();
});

async function bridgeWithTarget(
  status: (n: number) => number,
  faults?: Parameters<typeof setBridgeRoute>[1]['faults'],
) {
  const target = await startTarget(status);
  running.push({ stop: target.close });
  const bridge: TriggerBridge = await startTriggerBridge({
    port: 0,
    firestoreHost: '127.0.0.1:1',
    delivery: { initialBackoffMs: 5, maxBackoffMs: 20, maxAttempts: 4 },
  });
  running.push(bridge);
  await setBridgeRoute(bridge.url, { projectId: 'p1', triggerId: 't1', target: target.url, faults });
  const post = async (id: string) => {
    const response = await fetch(`${bridge.url}/functions/projects/p1/triggers/t1`, {
      method: 'POST',
      headers: {
        'ce-id': id,
        'ce-type': 'google.cloud.firestore.document.v1.written',
        'content-type': 'application/protobuf',
      },
      body: `body-${id}`,
    });
    return response.status;
  };
  return { bridge, target, post };
}

describe('the trigger bridge', () => {
  it('forwards each event unchanged (headers and body) and reports it delivered', async () => {
    const { bridge, target, post } = await bridgeWithTarget(() => 204);
    expect(await post('a')).toBe(204);
    const stats = await fetchRouteStats(bridge.url, 'p1', 't1', { minReceived: 1, timeoutMs: 5_000 });
    expect(stats).toMatchObject({
      received: 1,
      delivered: 1,
      retried: 0,
      failed: 0,
      inFlight: 0,
      idle: true,
    });
    expect(target.requests).toHaveLength(1);
    expect(target.requests[0]?.body).toBe('body-a');
    expect(target.requests[0]?.headers).toMatchObject({
      'ce-id': 'a',
      'ce-type': 'google.cloud.firestore.document.v1.written',
      'content-type': 'application/protobuf',
    });
  });

  it('retries a failed delivery with backoff until the function accepts it, and gives up after maxAttempts', async () => {
    const { bridge, target, post } = await bridgeWithTarget((n) => (n <= 2 ? 500 : n === 3 ? 204 : 503));
    await post('a');
    const first = await fetchRouteStats(bridge.url, 'p1', 't1', { minReceived: 1, timeoutMs: 5_000 });
    expect(first).toMatchObject({ delivered: 1, retried: 2, failed: 0, responses: { '500': 2, '204': 1 } });
    await post('b');
    const second = await fetchRouteStats(bridge.url, 'p1', 't1', { minReceived: 2, timeoutMs: 5_000 });
    expect(second).toMatchObject({ delivered: 1, retried: 5, failed: 1, responses: { '503': 4 } });
    expect(second.lastError).toMatch(/HTTP 503/);
    expect(target.requests.map((r) => r.headers['x-e11-delivery-attempt'])).toEqual([
      '1',
      '2',
      '3',
      '1',
      '2',
      '3',
      '4',
    ]);
  });

  it('duplicates, drops and parks deliveries as its faults say', async () => {
    const { bridge, target, post } = await bridgeWithTarget((n) => (n === 2 ? 500 : 204), {
      dropFirst: 1,
      duplicate: true,
      holdFailed: true,
    });
    await post('dropped');
    await post('twice');
    const parked = await fetchRouteStats(bridge.url, 'p1', 't1', { minReceived: 2, timeoutMs: 5_000 });
    expect(parked).toMatchObject({ received: 2, dropped: 1, delivered: 1, held: 1, inFlight: 1, idle: true });
    expect(bridge.release('p1', 't1')).toBe(1);
    const done = await fetchRouteStats(bridge.url, 'p1', 't1', { minReceived: 2, timeoutMs: 5_000 });
    expect(done).toMatchObject({ delivered: 2, held: 0, inFlight: 0, retried: 1 });
    expect(target.requests.map((r) => r.body)).toEqual(['body-twice', 'body-twice', 'body-twice']);
  });

  it('answers 404 to a trigger with no route', async () => {
    const bridge = await startTriggerBridge({
      port: 0,
      firestoreHost: '127.0.0.1:1',
      logger: createLogger('bridge-test', { level: 'silent' }),
    });
    running.push(bridge);
    const response = await fetch(`${bridge.url}/functions/projects/p9/triggers/none`, {
      method: 'POST',
      body: 'x',
    });
    expect(response.status).toBe(404);
  });
});
