import type { IncomingMessage, ServerResponse } from 'node:http';

import {
  ErrorCode,
  type Logger,
  type OrchestrationDoc,
  readShardTotals,
  loadOrchestration,
  type Store,
} from '@e11/core';
import { type OrchestrationInfo, toOrchestrationInfo } from '@e11/core/engine';
import type { Timestamp } from '@google-cloud/firestore';

import { assertOrchestrationId } from './monitoring-errors.js';
import { parseEventId } from './sse-event-id.js';

// The request side of an SSE stream: which orchestration it is for, whether the caller may watch it,
// and where a reconnecting client resumes. Nothing here streams.

/** Decides whether the caller of `req` may see `orchestration` (e.g. by comparing its tags with the caller's identity). */
export type AuthorizeOrchestration = (
  req: IncomingMessage,
  orchestration: OrchestrationInfo,
) => boolean | Promise<boolean>;

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
export function refuse(res: ServerResponse, statusCode: number, code: string, message: string): void {
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
 * Where a reconnecting client resumes: the time in its `Last-Event-ID` (header, or `lastEventId` in the
 * query), or undefined — a fresh snapshot only — when it sent none, a malformed one, or one older than
 * `resumeWindowMs`.
 */
export function resumePointOf(
  req: IncomingMessage,
  now: number,
  resumeWindowMs: number,
): Timestamp | undefined {
  const resume = parseEventId(lastEventIdOf(req));
  if (resume === undefined || now - resume.toMillis() > resumeWindowMs) return undefined;
  return resume;
}

/** What {@link admitStream} needs besides the request. */
export interface AdmitOptions {
  store: Store;
  authorize: AuthorizeOrchestration;
  getOrchestrationId: (req: IncomingMessage) => string | undefined;
  logger?: Logger;
}

/**
 * Checks a stream request and returns the orchestration it may watch, or undefined once it answered
 * the request itself: 405 for another method than GET, 404 without an id, 403 when `authorize` says
 * false or throws, nothing when the client left meanwhile. Throws `E11_UNKNOWN_ORCHESTRATION` for an
 * id that is malformed, unknown or another tenant's, and what a read throws.
 */
export async function admitStream(
  req: IncomingMessage,
  res: ServerResponse,
  options: AdmitOptions,
): Promise<OrchestrationDoc | undefined> {
  const { store, logger } = options;
  if (req.method !== 'GET') {
    res.setHeader('allow', 'GET');
    refuse(res, 405, ErrorCode.InvalidOptions, 'Use GET for an event stream.');
    return undefined;
  }
  const orchestrationId = options.getOrchestrationId(req);
  if (orchestrationId === undefined) {
    refuse(res, 404, ErrorCode.UnknownOrchestration, 'No orchestration id in the request.');
    return undefined;
  }
  assertOrchestrationId(orchestrationId);
  // The tenant check comes first: nothing else of an orchestration the caller may not see is read
  // (its answer is the unknown id's 404), and the stream's listeners attach only after it.
  const doc = await loadOrchestration(store, orchestrationId);
  const { counts, taskMillis } = await readShardTotals(store, orchestrationId);
  const info = toOrchestrationInfo(doc, counts, taskMillis);
  let allowed = false;
  try {
    allowed = (await options.authorize(req, info)) === true;
  } catch (error) {
    logger?.warn({ err: error, orchestrationId }, 'authorize threw; refusing the stream');
  }
  if (!allowed) {
    refuse(res, 403, ErrorCode.Forbidden, `Not allowed to watch orchestration ${orchestrationId}.`);
    return undefined;
  }
  // The client may have left while we were loading and authorizing.
  if (res.destroyed || !res.socket || res.socket.destroyed) return undefined;
  return doc;
}
