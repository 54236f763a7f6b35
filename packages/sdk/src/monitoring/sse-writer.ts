import type { ServerResponse } from 'node:http';

import type { Logger } from '@e11/core';
import type { Timestamp } from '@google-cloud/firestore';
import { Subscription } from 'rxjs';

import { formatEventId } from './sse-event-id.js';
import type { SseEventName } from './sse-events.js';

/** What {@link openSseStream} needs besides the response. */
export interface SseWriterOptions {
  orchestrationId: string;
  /** Reconnection delay suggested to the client (`retry:`). */
  retryMs: number;
  /** Interval of the `: keep-alive` comment. */
  keepAliveMs: number;
  /** Bytes buffered for a slow client before it is disconnected. */
  maxBufferedBytes: number;
  /** The resume point of a reconnecting client; until one is set, events carry no id. */
  resumeFrom?: Timestamp;
  logger?: Logger;
}

/** One open `text/event-stream` response. */
export interface SseWriter {
  /** The work feeding the stream (its Firestore listeners); unsubscribed when the stream closes. */
  readonly subscription: Subscription;
  /** Sends one event, with the id `<resume point>-<sequence>` once a resume point is set; nothing after close. */
  send(event: SseEventName, data: unknown): void;
  /** The point up to which the client has everything; the ids of the following events name it. */
  resumeAt(point: Timestamp): void;
  /** Ends the response and the subscription; idempotent. The client leaving closes it too. */
  close(): void;
}

/**
 * Starts the event stream on `res` (200, `retry:` first, then a `: keep-alive` comment every
 * `keepAliveMs`). A client that lets more than `maxBufferedBytes` pile up is disconnected (it
 * resumes with its Last-Event-ID) instead of growing the server's memory.
 */
export function openSseStream(res: ServerResponse, options: SseWriterOptions): SseWriter {
  const { orchestrationId, logger } = options;
  const subscription = new Subscription();
  let resumePoint = options.resumeFrom;
  let sequence = 0;
  let closed = false;

  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.write(`retry: ${options.retryMs}\n\n`);

  const stop = () => {
    closed = true;
    clearInterval(keepAlive);
    subscription.unsubscribe();
  };
  const close = () => {
    if (closed) return;
    stop();
    res.end();
  };
  const send = (event: SseEventName, data: unknown) => {
    if (closed) return;
    sequence++;
    const id = resumePoint ? `id: ${formatEventId(resumePoint, sequence)}\n` : '';
    res.write(`${id}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    if (res.writableLength > options.maxBufferedBytes) {
      logger?.warn(
        { orchestrationId, buffered: res.writableLength },
        'SSE client too slow; disconnecting it (it resumes)',
      );
      stop();
      res.destroy();
    }
  };

  const keepAlive = setInterval(() => {
    if (!closed) res.write(': keep-alive\n\n');
  }, options.keepAliveMs);
  res.on('close', close);

  return {
    subscription,
    send,
    resumeAt: (point) => {
      resumePoint = point;
    },
    close,
  };
}
