import { once } from 'node:events';
import { createServer, type IncomingMessage, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { Timestamp } from '@google-cloud/firestore';
import { afterEach, describe, expect, it } from 'vitest';

import { openSseStream, type SseWriter, type SseWriterOptions } from './sse-writer.js';

const servers: Server[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

const BASE: SseWriterOptions = {
  orchestrationId: 'o1',
  retryMs: 1_500,
  keepAliveMs: 60_000,
  maxBufferedBytes: 1 << 20,
};

/** A real HTTP server on a free port whose every request opens an event stream handed to `use`. */
async function serve(options: SseWriterOptions, use: (writer: SseWriter) => void): Promise<URL> {
  const server = createServer((_req, res) => use(openSseStream(res, options)));
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
}

describe('openSseStream', () => {
  it('writes retry first, ids only once a resume point is set, nothing after close, and ends the subscription', async () => {
    let tornDown = false;
    const url = await serve(BASE, (writer) => {
      writer.subscription.add(() => (tornDown = true));
      writer.send('status', { a: 1 });
      writer.resumeAt(new Timestamp(1_700_000_000, 5));
      writer.send('job', { b: 2 });
      writer.close();
      writer.send('progress', { c: 3 });
    });

    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(await res.text()).toBe(
      'retry: 1500\n\n' +
        'event: status\ndata: {"a":1}\n\n' +
        'id: 1700000000.000000005-2\nevent: job\ndata: {"b":2}\n\n',
    );
    expect(tornDown).toBe(true);
  });

  it('sends keep-alive comments and ends the subscription when the client goes away', async () => {
    let tearDown: () => void = () => undefined;
    const tornDown = new Promise<void>((resolve) => (tearDown = resolve));
    const url = await serve({ ...BASE, keepAliveMs: 20 }, (writer) => writer.subscription.add(tearDown));

    const req = request(url);
    req.on('error', () => undefined); // destroying it below
    const text = await new Promise<string>((resolve) => {
      req.on('response', (res) => {
        let received = '';
        res.setEncoding('utf8');
        res.on('error', () => undefined);
        res.on('data', (chunk: string) => {
          received += chunk;
          if (received.includes(': keep-alive\n\n')) resolve(received);
        });
      });
      req.end();
    });
    expect(text).toMatch(/^retry: 1500\n\n(: keep-alive\n\n)+$/);
    req.destroy();
    await tornDown;
  });

  it('disconnects a client that lets more than maxBufferedBytes pile up, and ends the subscription', async () => {
    const chunk = 'x'.repeat(64 * 1024);
    /** Sends up to 2,000 events of 64 KiB (125 MiB, far more than the socket buffers hold), one per turn of the event loop. */
    const pump = async (writer: SseWriter) => {
      let sent = 0;
      while (sent < 2_000 && !writer.subscription.closed) {
        writer.send('job', chunk);
        sent++;
        await new Promise((resolve) => setImmediate(resolve));
      }
      return { sent, closed: writer.subscription.closed };
    };
    let report: (result: Promise<{ sent: number; closed: boolean }>) => void = () => undefined;
    const result = new Promise<{ sent: number; closed: boolean }>((resolve) => (report = resolve));
    const url = await serve({ ...BASE, maxBufferedBytes: 256 * 1024 }, (writer) => report(pump(writer)));

    const req = request(url);
    const response = new Promise<IncomingMessage>((resolve) => req.on('response', resolve));
    req.on('error', () => undefined);
    req.end();
    const res = await response;
    res.pause(); // a client that reads nothing
    const { sent, closed } = await result;
    expect(closed).toBe(true);
    expect(sent).toBeLessThan(2_000);
    // Reading again, the client finds its stream cut short: what the socket held, then the end.
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (text: string) => (body += text));
    res.on('error', () => undefined);
    res.resume();
    await new Promise((resolve) => res.on('close', resolve));
    expect(res.complete).toBe(false);
    expect(body.startsWith('retry: 1500\n\nevent: job\n')).toBe(true);
  });
});
