import type { IncomingMessage, ServerResponse } from 'node:http';

import {
  DEFAULTS,
  E11Error,
  ErrorCode,
  isE11Error,
  type Logger,
  type OrchestrationDoc,
  readCounts,
  loadOrchestration,
  type Store,
} from '@e11/core';
import { serviceStore } from '@e11/core/engine';
import { type OrchestrationInfo, toOrchestrationInfo } from '@e11/core/engine';
import type { Timestamp } from '@google-cloud/firestore';
import { Subscription } from 'rxjs';

import type { JobChangeBatch } from './job-changes.js';
import { assertOrchestrationId } from './monitoring-errors.js';
import { orchestrationFeed } from './orchestration-feed.js';
import { formatEventId, parseEventId } from './sse-event-id.js';
import { type SseEventName, statusChanged, toJobEvent, toProgressEvent } from './sse-events.js';
import type { CompleteOn } from './watch-orchestration.js';

/** Decides whether the caller of `req` may see `orchestration` (e.g. by comparing its tags with the caller's identity). */
export type AuthorizeOrchestration = (
  req: IncomingMessage,
  orchestration: OrchestrationInfo,
) => boolean | Promise<boolean>;

/** What the SSE handler streams from: an `OrchestrationService` (its store stays hidden), or a store of your own. */
export interface MonitoredService {
  readonly store?: Store;
  readonly logger?: Logger;
}

/** Options of {@link createSseHandler}. */
export interface SseHandlerOptions {
  /**
   * Called once per connection with the orchestration; `false` (or a throw) answers 403 and streams
   * nothing. Orchestrations are scoped by their tags: compare them with the caller's identity, for
   * example with {@link authorizeByTag}. Required, so that no stream is open to everyone by accident.
   */
  authorize: AuthorizeOrchestration;
  /** Which orchestration a request is for. @default {@link orchestrationIdFromPath}: `…/orchestrations/{id}/events` */
  getOrchestrationId?: (req: IncomingMessage) => string | undefined;
  /** Interval of the `: keep-alive` comment. @default DEFAULTS.sseKeepAliveMs */
  keepAliveMs?: number;
  /** Reconnection delay suggested to the client. @default DEFAULTS.sseRetryMs */
  retryMs?: number;
  /** A Last-Event-ID older than this gets a fresh snapshot only. @default DEFAULTS.sseResumeWindowMs */
  resumeWindowMs?: number;
  /** When the stream sends `completed` and ends; see `WatchOptions.completeOn`. @default 'status' */
  completeOn?: CompleteOn;
  /** Bytes buffered for a slow client before it is disconnected (it resumes). @default DEFAULTS.sseMaxBufferedBytes */
  maxBufferedBytes?: number;
}

/** A Node `http` request handler; it never rejects. */
export type SseHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/** The default route: the id in `…/orchestrations/{id}/events` (any prefix before it, any query after it). */
export function orchestrationIdFromPath(req: IncomingMessage): string | undefined {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  const match = /\/orchestrations\/([^/]+)\/events\/?$/.exec(path);
  if (!match?.[1]) return undefined;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return undefined;
  }
}

/**
 * An `authorize` that lets a caller see only orchestrations whose tag `key` equals the caller's value,
 * e.g. `authorizeByTag('customerId', (req) => req.headers['x-customer-id'])` (derive the value from
 * an authenticated identity in production, not from a header the client chooses).
 */
export function authorizeByTag(
  key: string,
  callerValue: (
    req: IncomingMessage,
  ) => string | string[] | undefined | Promise<string | string[] | undefined>,
): AuthorizeOrchestration {
  return async (req, orchestration) => {
    const value = await callerValue(req);
    return typeof value === 'string' && value !== '' && orchestration.tags[key] === value;
  };
}

/** Sends a JSON error before any streaming started. */
function refuse(res: ServerResponse, statusCode: number, code: string, message: string): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(statusCode, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
  });
  res.end(JSON.stringify({ error: { code, message } }));
}

function lastEventIdOf(req: IncomingMessage): string | undefined {
  const header = req.headers['last-event-id'];
  if (typeof header === 'string' && header !== '') return header;
  // EventSource polyfills that cannot set headers pass it in the query.
  return new URL(req.url ?? '/', 'http://localhost').searchParams.get('lastEventId') ?? undefined;
}

/**
 * A Node `http` request handler that streams one orchestration as Server-Sent Events
 * (`text/event-stream`): `status` first, then `progress`, `job` transitions and finally `completed`,
 * after which the response ends (see `SseEventName` in sse-events.ts for the payloads). Unknown ids
 * answer 404 — and so do ids of another tenant than the service's (`forTenant`), with the same body,
 * checked before any listener attaches or any `Last-Event-ID` is looked at —, a caller `authorize`
 * rejects 403, other methods than GET 405 — with a JSON body and nothing streamed. A `: keep-alive` comment goes out every `keepAliveMs`.
 *
 * Every event carries an id (`<read time>-<sequence>`); a client that reconnects with
 * `Last-Event-ID` gets the current `status` first, then every job changed after that id. A stale or
 * malformed id simply gets a fresh `status` snapshot — never an error. When the client disconnects,
 * every Firestore listener of the stream is detached.
 *
 * Cost: three listeners per connection (orchestration document, counter shards, jobs); the jobs
 * listener reads every job document once when it attaches (one read each; jobs not started yet come
 * from the params chunks, one read per 100 jobs) and then one per change.
 *
 * Works with plain `http.createServer(handler)`, Express (`app.get('/orchestrations/:id/events',
 * handler)`) and Fastify (`reply.hijack(); handler(request.raw, reply.raw)`).
 */
export function createSseHandler(service: MonitoredService, options: SseHandlerOptions): SseHandler {
  if (typeof options?.authorize !== 'function') {
    throw new E11Error(
      ErrorCode.InvalidOptions,
      'createSseHandler needs an authorize(req, orchestration) function.',
      {
        context: { path: 'authorize' },
      },
    );
  }
  const store = service.store ?? serviceStore(service);
  const { logger } = service;
  const getId = options.getOrchestrationId ?? orchestrationIdFromPath;
  const keepAliveMs = options.keepAliveMs ?? DEFAULTS.sseKeepAliveMs;
  const retryMs = options.retryMs ?? DEFAULTS.sseRetryMs;
  const resumeWindowMs = options.resumeWindowMs ?? DEFAULTS.sseResumeWindowMs;
  const maxBufferedBytes = options.maxBufferedBytes ?? DEFAULTS.sseMaxBufferedBytes;

  const stream = (req: IncomingMessage, res: ServerResponse, checked: OrchestrationDoc) => {
    const orchestrationId = checked.id;
    const resume = parseEventId(lastEventIdOf(req));
    const fresh = resume === undefined || store.clock.now() - resume.toMillis() > resumeWindowMs;
    let resumePoint: Timestamp | undefined = fresh ? undefined : resume;
    let sequence = 0;
    let last: OrchestrationInfo | undefined;
    let held: JobChangeBatch[] = [];
    const subscription = new Subscription();
    let closed = false;

    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write(`retry: ${retryMs}\n\n`);

    const close = () => {
      if (closed) return;
      closed = true;
      clearInterval(keepAlive);
      subscription.unsubscribe();
      res.end();
    };
    const send = (event: SseEventName, data: unknown) => {
      if (closed) return;
      sequence++;
      const id = resumePoint ? `id: ${formatEventId(resumePoint, sequence)}\n` : '';
      res.write(`${id}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      if (res.writableLength > maxBufferedBytes) {
        logger?.warn(
          { orchestrationId, buffered: res.writableLength },
          'SSE client too slow; disconnecting it (it resumes)',
        );
        closed = true;
        clearInterval(keepAlive);
        subscription.unsubscribe();
        res.destroy();
      }
    };
    const sendJobs = (batch: JobChangeBatch) => {
      // Changes come oldest first; each id names the newest change sent so far.
      for (const change of batch.changes) {
        resumePoint = change.updateTime;
        send('job', toJobEvent(change.transition));
      }
      // Everything up to the read time is delivered now. This also corrects a Last-Event-ID from the future.
      resumePoint = batch.readTime;
    };

    const keepAlive = setInterval(() => {
      if (!closed) res.write(': keep-alive\n\n');
    }, keepAliveMs);
    res.on('close', close);

    subscription.add(
      orchestrationFeed(store, orchestrationId, {
        checked,
        completeOn: options.completeOn,
        jobsStart: resume === undefined || fresh ? 'none' : { after: resume },
      }).subscribe({
        next: (item) => {
          if (item.kind === 'jobs') {
            // The current state goes first; job changes wait for it.
            if (last) sendJobs(item.batch);
            else held.push(item.batch);
            return;
          }
          const before = last;
          last = item.info;
          if (!before || statusChanged(before, item.info)) send('status', item.info);
          else send('progress', toProgressEvent(item.info));
          if (!before) {
            for (const batch of held) sendJobs(batch);
            held = [];
          }
        },
        complete: () => {
          send('completed', last);
          close();
        },
        error: (error: unknown) => {
          const code = isE11Error(error) ? error.code : ErrorCode.Unavailable;
          if (!isE11Error(error, ErrorCode.UnknownOrchestration))
            logger?.warn({ err: error, orchestrationId }, 'SSE stream failed');
          send('stream-error', { code, message: error instanceof Error ? error.message : String(error) });
          close();
        },
      }),
    );
  };

  return async (req, res) => {
    try {
      if (req.method !== 'GET') {
        res.setHeader('allow', 'GET');
        refuse(res, 405, ErrorCode.InvalidOptions, 'Use GET for an event stream.');
        return;
      }
      const orchestrationId = getId(req);
      if (orchestrationId === undefined) {
        refuse(res, 404, ErrorCode.UnknownOrchestration, 'No orchestration id in the request.');
        return;
      }
      assertOrchestrationId(orchestrationId);
      // The tenant check comes first: nothing else of an orchestration the caller may not see is read
      // (its answer is the unknown id's 404), and the stream's listeners attach only after it.
      const doc = await loadOrchestration(store, orchestrationId);
      const info = toOrchestrationInfo(doc, await readCounts(store, orchestrationId));
      let allowed = false;
      try {
        allowed = (await options.authorize(req, info)) === true;
      } catch (error) {
        logger?.warn({ err: error, orchestrationId }, 'authorize threw; refusing the stream');
      }
      if (!allowed) {
        refuse(res, 403, ErrorCode.Forbidden, `Not allowed to watch orchestration ${orchestrationId}.`);
        return;
      }
      // The client may have left while we were loading and authorizing.
      if (res.destroyed || !res.socket || res.socket.destroyed) return;
      stream(req, res, doc);
    } catch (error) {
      if (isE11Error(error, ErrorCode.UnknownOrchestration)) {
        refuse(res, 404, error.code, error.message);
        return;
      }
      logger?.error({ err: error }, 'SSE handler failed');
      refuse(
        res,
        500,
        isE11Error(error) ? error.code : ErrorCode.Unavailable,
        'The event stream could not be started.',
      );
    }
  };
}
