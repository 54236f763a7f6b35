// Server-Sent Events from a fetch-style handler, `(request: Request) => Promise<Response>`: the shape
// of Deno.serve, Bun.serve, Cloudflare-style workers, Hono and Next.js route handlers.
// createSseHandler is a Node `(req, res)` handler (see sse-node-http.ts); a fetch-style runtime can
// stream `orchestrations.watch(id)` instead, as below: a `status` event per change and `completed` at
// the end. What createSseHandler adds and this does not: per-job `job` events, resuming with
// Last-Event-ID and keep-alive comments.
//   node examples/dist/features/sse-fetch-handler.js
import { type OrchestrationService, ErrorCode, isE11Error } from '@e11/sdk';

import type { SumSalesParams } from '../jobs/sum-sales-job.js';
import { type Example, runIfMain, say } from '../local-stack.js';
import { readSse } from './read-sse.js';

/**
 * A fetch-style handler for `GET /orchestrations/{id}/events`. `customerOf` is your authentication:
 * the customer a request is from, compared with the orchestration's `customerId` tag.
 */
export function createFetchSseHandler(
  orchestrations: OrchestrationService,
  customerOf: (request: Request) => string | undefined,
): (request: Request) => Promise<Response> {
  return async (request) => {
    const id = /\/orchestrations\/([^/]+)\/events$/.exec(new URL(request.url).pathname)?.[1];
    if (request.method !== 'GET' || id === undefined) return new Response('Not found', { status: 404 });
    const orchestration = await orchestrations
      .getOrchestration(decodeURIComponent(id))
      .catch((error: unknown) => {
        if (isE11Error(error, ErrorCode.UnknownOrchestration)) return null;
        throw error;
      });
    if (orchestration === null) return new Response('Not found', { status: 404 });
    const customer = customerOf(request);
    if (customer === undefined || orchestration.tags.customerId !== customer)
      return new Response('Forbidden', { status: 403 });

    const encoder = new TextEncoder();
    let unsubscribe = () => undefined as void;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        const send = (event: string, data: unknown) =>
          controller.enqueue(encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`));
        let last: unknown;
        const subscription = orchestrations.watch(orchestration.id).subscribe({
          next: (info) => {
            last = info;
            send('status', info);
          },
          complete: () => {
            send('completed', last);
            controller.close();
          },
          error: (error: unknown) => {
            send('stream-error', { code: isE11Error(error) ? error.code : ErrorCode.Unavailable });
            controller.close();
          },
        });
        unsubscribe = () => subscription.unsubscribe();
      },
      // The client went away: detach the Firestore listeners.
      cancel: () => unsubscribe(),
    });
    return new Response(body, {
      headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' },
    });
  };
}

export const sseFetchHandler: Example<{
  events: string[];
  finalStatus: string;
  otherCustomer: number;
}> = async ({ orchestrations }) => {
  const handler = createFetchSseHandler(orchestrations, (request) =>
    request.headers.get('authorization') === 'Bearer token-of-acme' ? 'acme' : undefined,
  );
  const { orchestrationId } = await orchestrations.kickOffJob(
    'sum_sales',
    ['2026-08', '2026-09'].map((month): SumSalesParams => ({ month })),
    { tags: { customerId: 'acme' } },
  );
  // A runtime calls the handler with each request; here we call it directly.
  const url = `http://localhost/orchestrations/${orchestrationId}/events`;
  const stranger = await handler(new Request(url, { headers: { authorization: 'Bearer nobody' } }));
  say(`another caller: HTTP ${stranger.status}`);
  const response = await handler(new Request(url, { headers: { authorization: 'Bearer token-of-acme' } }));
  const names: string[] = [];
  let finalStatus = '';
  for await (const { event, data } of readSse(response)) {
    names.push(event);
    const info = JSON.parse(data) as { status: string; counts: { completed: number } };
    say(`  ${event}: ${info.status}, ${info.counts.completed} completed`);
    if (event === 'completed') finalStatus = info.status;
  }
  return { events: names, finalStatus, otherCustomer: stranger.status };
};

await runIfMain(import.meta.url, sseFetchHandler);
