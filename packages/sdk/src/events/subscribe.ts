import { randomUUID } from 'node:crypto';

import {
  createLogger,
  type Duration,
  E11Error,
  ErrorCode,
  type Logger,
  type JobCompletedEvent,
  parseJobCompletedEvent,
  parsePipelineCompletedEvent,
  type PipelineCompletedEvent,
  toMs,
} from '@e11/core';
import type { Message, PubSub, Subscription } from '@google-cloud/pubsub';

/** What a handler learns about the Pub/Sub message besides the event itself. */
export interface JobCompletedMessage {
  /** The Pub/Sub message id. */
  id: string;
  attributes: Readonly<Record<string, string>>;
  publishTime: Date;
  /** Set when the subscription has a dead-letter policy. */
  deliveryAttempt: number | undefined;
}

/** Handles one event. The message is acknowledged when the returned promise resolves, nacked if it rejects. */
export type JobCompletedHandler = (event: JobCompletedEvent, message: JobCompletedMessage) => unknown;

/**
 * Which events a subscriber wants. A record matches events whose attributes (the event's own:
 * `orchestrationId`, `jobName`, `status`, … and every tag) equal every given value; a function sees the
 * parsed event and its attributes.
 */
export type JobCompletedFilter = EventFilter<JobCompletedEvent>;

/** Which events of type `E` a subscriber wants: attributes that must match, or a predicate. */
type EventFilter<E> =
  Readonly<Record<string, string>> | ((event: E, attributes: Readonly<Record<string, string>>) => boolean);

/** The options of a subscriber of events of type `E`. */
type EventSubscriberOptions<E> = Omit<SubscribeToJobCompletedOptions, 'filter'> & {
  filter?: EventFilter<E>;
};

/** Options for {@link subscribeToJobCompleted}. */
export interface SubscribeToJobCompletedOptions {
  /**
   * Only these events reach the handler; the others are acknowledged and skipped. A record is also sent
   * to Pub/Sub as the filter of a subscription this call creates (server-side filtering), and always
   * applied here too (the emulator stores filters without applying them).
   */
  filter?: JobCompletedFilter;
  /**
   * Told about invalid messages (acknowledged so they do not loop), handler errors (the message is
   * nacked and redelivered) and subscription errors. @default a warning on the logger
   */
  onError?: (error: unknown, message?: JobCompletedMessage) => void;
  /** Messages handled at once. @default 100 (the client's own default is 1000) */
  maxInFlight?: number;
  /** @default a Cloud Logging-shaped pino logger */
  logger?: Logger;
}

/** Where to listen: an existing subscription, or a topic to create a private subscription on. */
export type JobCompletedSource =
  | string
  | {
      topic: string;
      /** Name of the subscription to create. @default `e11-job-completed-{uuid}` */
      subscriptionName?: string;
      /**
       * Pub/Sub deletes the created subscription after this long without a subscriber (its expiration
       * policy), so a consumer that crashed before `close()` leaks nothing for long. At least a day
       * (Pub/Sub's minimum). @default '1d'
       */
      expireAfterIdle?: Duration;
    };

/** A running subscriber. */
export interface JobCompletedSubscription {
  /** The subscription it listens to (the one it created, for a topic). */
  readonly subscriptionName: string;
  /**
   * Stops receiving, waits for handlers in progress to settle their messages, and deletes the
   * subscription if this subscriber created it. Single-flight.
   */
  close(): Promise<void>;
}

const SIMPLE_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

const quote = (text: string) => `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/**
 * The Pub/Sub subscription filter for a record filter, e.g. `{ customerId: 'acme', status: 'Errored' }`
 * → `attributes.customerId = "acme" AND attributes.status = "Errored"`. Keys that are not plain
 * identifiers are quoted.
 */
export function jobCompletedFilterExpression(filter: Readonly<Record<string, string>>): string {
  return Object.entries(filter)
    .map(([key, value]) => {
      if (typeof value !== 'string') {
        throw new E11Error(ErrorCode.InvalidOptions, `filter.${key} must be a string.`, {
          context: { path: `filter.${key}` },
        });
      }
      return `attributes.${SIMPLE_KEY.test(key) ? key : quote(key)} = ${quote(value)}`;
    })
    .join(' AND ');
}

function matches<E>(
  filter: EventFilter<E> | undefined,
  event: E,
  attributes: Readonly<Record<string, string>>,
): boolean {
  if (filter === undefined) return true;
  if (typeof filter === 'function') return filter(event, attributes);
  return Object.entries(filter).every(([key, value]) => attributes[key] === value);
}

function describe(message: Message): JobCompletedMessage {
  return {
    id: message.id,
    attributes: { ...message.attributes },
    publishTime: new Date(message.publishTime.getTime()),
    deliveryAttempt: message.deliveryAttempt || undefined,
  };
}

/**
 * Listens for JobCompletedEvents. `source` is an existing subscription name, or `{ topic }` to
 * create a uniquely named subscription on that topic (with the record filter as its Pub/Sub filter)
 * that `close()` deletes. Each message is parsed and validated; an invalid one is acknowledged (a
 * poison message must not loop) and reported to `onError`; one that does not match the filter is
 * acknowledged and skipped. The handler's message is acknowledged only after the handler resolves,
 * and nacked (redelivered) if it throws. Events are delivered at least once: de-duplicate on
 * `event.eventId` if handling twice matters.
 */
export function subscribeToJobCompleted(
  pubsub: PubSub,
  source: JobCompletedSource,
  handler: JobCompletedHandler,
  options: SubscribeToJobCompletedOptions = {},
): Promise<JobCompletedSubscription> {
  return subscribeToEvents(pubsub, source, handler, options, {
    type: 'JobCompletedEvent',
    parse: parseJobCompletedEvent,
  });
}

/**
 * Runs `handler` once per PipelineCompletedEvent delivered on `source` (a subscription name, or a topic
 * to create a private subscription on, deleted by `close()`), with the same filters, acknowledgement and
 * error handling as {@link subscribeToJobCompleted}. The topic's JobCompletedEvents are acknowledged and
 * skipped. Delivered at least once: de-duplicate on `eventId`.
 */
export function subscribeToPipelineCompleted(
  pubsub: PubSub,
  source: JobCompletedSource,
  handler: (event: PipelineCompletedEvent, message: JobCompletedMessage) => unknown,
  options: EventSubscriberOptions<PipelineCompletedEvent> = {},
): Promise<JobCompletedSubscription> {
  return subscribeToEvents(pubsub, source, handler, options, {
    type: 'PipelineCompletedEvent',
    parse: parsePipelineCompletedEvent,
  });
}

async function subscribeToEvents<E>(
  pubsub: PubSub,
  source: JobCompletedSource,
  handler: (event: E, message: JobCompletedMessage) => unknown,
  options: EventSubscriberOptions<E>,
  kind: { type: string; parse: (data: Buffer) => E },
): Promise<JobCompletedSubscription> {
  const logger = options.logger ?? createLogger('e11-subscriber');
  const onError =
    options.onError ??
    ((error: unknown, message?: JobCompletedMessage) =>
      logger.warn(
        { err: error instanceof Error ? error.message : String(error), messageId: message?.id },
        'JobCompletedEvent subscriber error',
      ));
  const flowControl = { maxMessages: options.maxInFlight ?? 100, allowExcessMessages: false };

  let subscription: Subscription;
  let created = false;
  if (typeof source === 'string') {
    subscription = pubsub.subscription(source, { flowControl });
  } else {
    const name =
      source.subscriptionName ??
      `e11-${kind.type === 'JobCompletedEvent' ? 'job' : 'pipeline'}-completed-${randomUUID()}`;
    const filter =
      options.filter && typeof options.filter !== 'function'
        ? jobCompletedFilterExpression(options.filter)
        : undefined;
    const ttlSeconds = Math.ceil(toMs(source.expireAfterIdle ?? '1d', 'expireAfterIdle') / 1_000);
    if (ttlSeconds < 86_400) {
      throw new E11Error(
        ErrorCode.InvalidOptions,
        "expireAfterIdle: must be at least 1 day (Pub/Sub's minimum).",
        {
          context: { path: 'expireAfterIdle' },
        },
      );
    }
    await pubsub.topic(source.topic).createSubscription(name, {
      ...(filter ? { filter } : {}),
      expirationPolicy: { ttl: { seconds: ttlSeconds } },
    });
    subscription = pubsub.subscription(name, { flowControl });
    created = true;
  }

  const pending = new Set<Promise<void>>();
  const handle = async (message: Message) => {
    const info = describe(message);
    // The topic also carries the other kind of event (JobCompletedEvent / PipelineCompletedEvent).
    const type = message.attributes?.type;
    if (type !== undefined && type !== kind.type && type.endsWith('CompletedEvent')) {
      message.ack();
      return;
    }
    let event: E;
    try {
      event = kind.parse(message.data);
    } catch (error) {
      message.ack();
      onError(error, info);
      return;
    }
    let wanted: boolean;
    try {
      wanted = matches(options.filter, event, info.attributes);
    } catch (error) {
      message.nack();
      onError(error, info);
      return;
    }
    if (!wanted) {
      message.ack();
      return;
    }
    try {
      await handler(event, info);
    } catch (error) {
      message.nack();
      onError(error, info);
      return;
    }
    message.ack();
  };
  subscription.on('message', (message: Message) => {
    const running = handle(message).finally(() => pending.delete(running));
    pending.add(running);
  });
  subscription.on('error', (error: unknown) => onError(error));

  let closing: Promise<void> | undefined;
  return {
    subscriptionName: subscription.name.split('/').pop() ?? subscription.name,
    close: () =>
      (closing ??= (async () => {
        subscription.removeAllListeners('message');
        await Promise.allSettled([...pending]);
        await subscription.close();
        if (created) await subscription.delete();
      })()),
  };
}
