import type { IncomingMessage, ServerResponse } from 'node:http';

import { DEFAULTS, E11Error, ErrorCode, isE11Error, type Logger, type Store } from '@e11/core';

import { serviceStore } from '@e11/core/engine';

import { streamFeed } from './sse-feed.js';
import {
  admitStream,
  type AuthorizeOrchestration,
  orchestrationIdFromPath,
  refuse,
  resumePointOf,
} from './sse-request.js';
import { openSseStream } from './sse-writer.js';
import type { CompleteOn } from './watch-orchestration.js';

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
  /** Which orchestration a request is for. @default the id in the path `…/orchestrations/{id}/events` */
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

/** The answer to a request that failed before streaming: 404 for an unknown id, else 500. */
function refuseOnError(res: ServerResponse, error: unknown, logger: Logger | undefined): void {
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
 *
 * The parts: sse-request.ts admits the request (route, tenant check, `authorize`) and reads the
 * resume point, sse-writer.ts writes the stream, sse-feed.ts turns the orchestration's feed into events.
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
  const admit = {
    store,
    authorize: options.authorize,
    getOrchestrationId: options.getOrchestrationId ?? orchestrationIdFromPath,
    logger,
  };
  const keepAliveMs = options.keepAliveMs ?? DEFAULTS.sseKeepAliveMs;
  const retryMs = options.retryMs ?? DEFAULTS.sseRetryMs;
  const resumeWindowMs = options.resumeWindowMs ?? DEFAULTS.sseResumeWindowMs;
  const maxBufferedBytes = options.maxBufferedBytes ?? DEFAULTS.sseMaxBufferedBytes;

  return async (req, res) => {
    try {
      const checked = await admitStream(req, res, admit);
      if (!checked) return;
      const resumeFrom = resumePointOf(req, store.clock.now(), resumeWindowMs);
      const writer = openSseStream(res, {
        orchestrationId: checked.id,
        retryMs,
        keepAliveMs,
        maxBufferedBytes,
        resumeFrom,
        logger,
      });
      streamFeed(store, writer, checked, { completeOn: options.completeOn, resumeFrom, logger });
    } catch (error) {
      refuseOnError(res, error, logger);
    }
  };
}
