// Server-Sent Events behind a plain Node `http` server: createSseHandler(service, { authorize }) is a
// `(req, res)` handler, so it also mounts in Express (`app.get('/orchestrations/:id/events', events)`)
// and Fastify (`reply.hijack(); events(request.raw, reply.raw)`). A browser follows it with
// `new EventSource('/orchestrations/{id}/events')`; here a fetch() client reads the stream.
//   node examples/dist/features/sse-node-http.js
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

import { authorizeByTag, createSseHandler } from '@e11/sdk';

import type { SumSalesParams } from '../jobs/sum-sales-job.js';
import { type Example, runIfMain, say } from '../local-stack.js';
import { readSse } from './read-sse.js';

/** Your authentication: which customer a request is from. Here a fixed token table stands in for it. */
const CUSTOMER_OF_TOKEN = new Map([['token-of-acme', 'acme']]);
const customerOf = (req: IncomingMessage) =>
  CUSTOMER_OF_TOKEN.get((req.headers.authorization ?? '').replace(/^Bearer /, ''));

export const sseNodeHttp: Example<{ events: string[]; finalStatus: string; otherCustomer: number }> = async ({
  orchestrations,
}) => {
  // Streams `GET …/orchestrations/{id}/events` to callers whose customer is the orchestration's
  // `customerId` tag; everyone else gets 403.
  const events = createSseHandler(orchestrations, { authorize: authorizeByTag('customerId', customerOf) });
  const server = createServer((req, res) => void events(req, res));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  try {
    const { orchestrationId } = await orchestrations.kickOffJob(
      'sum_sales',
      ['2026-01', '2026-02'].map((month): SumSalesParams => ({ month })),
      { tags: { customerId: 'acme' } },
    );
    const url = `http://127.0.0.1:${port}/orchestrations/${orchestrationId}/events`;

    const stranger = await fetch(url, { headers: { authorization: 'Bearer someone-else' } });
    await stranger.body?.cancel();
    say(`another caller: HTTP ${stranger.status}`);

    const response = await fetch(url, { headers: { authorization: 'Bearer token-of-acme' } });
    const names: string[] = [];
    let finalStatus = '';
    for await (const { event, data } of readSse(response)) {
      names.push(event);
      say(`  ${event}: ${data.slice(0, 100)}${data.length > 100 ? '…' : ''}`);
      if (event === 'completed') finalStatus = (JSON.parse(data) as { status: string }).status;
    }
    return { events: names, finalStatus, otherCustomer: stranger.status };
  } finally {
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
  }
};

await runIfMain(import.meta.url, sseNodeHttp);
