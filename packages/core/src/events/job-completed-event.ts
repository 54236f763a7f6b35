import { z } from 'zod';

import { costOf } from '../cost/pricing.js';
import { E11Error, ErrorCode } from '../errors.js';
import {
  type CompletionDoc,
  END_REASONS,
  type EndReason,
  type OrchestrationDoc,
} from '../model/documents.js';
import { traceIdOf } from '../telemetry/trace-context.js';

/** Attribute keys the event sets itself; tags may not use them. */
export const RESERVED_ATTRIBUTES = [
  'type',
  'version',
  'eventId',
  'orchestrationId',
  'jobName',
  'status',
  'epoch',
  'pipelineId',
  'pipelineName',
  // The W3C trace context of the publish span (a consumer continues the trace from it).
  'traceparent',
] as const;

/**
 * The message published once per orchestration end. Versioned JSON; the Pub/Sub attributes repeat
 * `orchestrationId`, `jobName`, `status` and every tag so subscriptions can filter server-side.
 */
export const jobCompletedEventSchema = z.object({
  type: z.literal('JobCompletedEvent'),
  version: z.literal(1),
  /** `{orchestrationId}:{epoch}` — the same for every delivery of one end; use it to de-duplicate. */
  eventId: z.string().min(1),
  orchestrationId: z.string().min(1),
  jobName: z.string().min(1),
  status: z.enum(['Completed', 'Errored', 'Cancelled']),
  total: z.number().int().nonnegative(),
  succeeded: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  cancelled: z.number().int().nonnegative(),
  tags: z.record(z.string(), z.string()),
  /** Why a `Cancelled` orchestration stopped: `cancelled` by a caller, or `timeout` (its deadline passed). */
  reason: z.enum(END_REASONS).nullable().default(null),
  /** Run number: 1, then +1 for each retryFailed that reopened the orchestration. */
  epoch: z.number().int().positive(),
  /** ISO 8601. */
  createdAt: z.string(),
  /** ISO 8601. */
  completedAt: z.string(),
  /**
   * The OpenTelemetry trace id of the orchestration (its kick-off's trace), when the kick-off had an
   * SDK registered. The message's `traceparent` attribute names the publish span in that trace.
   */
  traceId: z.string().optional(),
  /**
   * Task seconds of the whole orchestration when it ended: every attempt's start-to-end time added up
   * (every epoch so far). Absent on events of orchestrations created before task time was counted.
   */
  taskSeconds: z.number().nonnegative().optional(),
  /**
   * What that task time cost at the orchestration's recorded CPU, memory and prices (Cloud Run's list
   * prices unless the service's `pricing` says otherwise; the free tier is not subtracted). Absent
   * with `taskSeconds`.
   */
  cost: z.object({ amount: z.number().nonnegative(), currency: z.string() }).optional(),
});

/** A JobCompletedEvent, as received by subscribers. */
export type JobCompletedEvent = z.infer<typeof jobCompletedEventSchema>;

/**
 * Why the orchestration ended early, for its event: a `Cancelled` end's reason (`cancelled` or
 * `timeout`), `maxFailures` for an `Errored` end it caused, `successPolicy` for a `Completed` one.
 */
function endReason(status: string, reason: EndReason | null): EndReason | null {
  if (status === 'Cancelled') return reason === 'timeout' ? 'timeout' : 'cancelled';
  if (status === 'Errored' && reason === 'maxFailures') return reason;
  if (status === 'Completed' && reason === 'successPolicy') return reason;
  return null;
}

/** The event for one orchestration end, from the orchestration and its completion marker. */
export function buildJobCompletedEvent(
  orchestration: Pick<OrchestrationDoc, 'id' | 'jobName' | 'total' | 'tags' | 'createdAt' | 'cancelReason'> &
    Partial<Pick<OrchestrationDoc, 'resources' | 'pricing' | 'traceparent'>>,
  marker: Pick<CompletionDoc, 'eventId' | 'epoch' | 'status' | 'counts' | 'createdAt'> &
    Partial<Pick<CompletionDoc, 'taskMillis'>>,
): JobCompletedEvent {
  const status = marker.status;
  if (status !== 'Completed' && status !== 'Errored' && status !== 'Cancelled') {
    throw new E11Error(ErrorCode.InvalidEvent, `An orchestration cannot end with status ${status}.`);
  }
  return {
    type: 'JobCompletedEvent',
    version: 1,
    eventId: marker.eventId,
    orchestrationId: orchestration.id,
    jobName: orchestration.jobName,
    status,
    total: orchestration.total,
    succeeded: marker.counts.completed,
    failed: marker.counts.errored,
    cancelled: marker.counts.cancelled,
    tags: { ...orchestration.tags },
    reason: endReason(status, orchestration.cancelReason),
    epoch: marker.epoch,
    createdAt: orchestration.createdAt.toDate().toISOString(),
    completedAt: marker.createdAt.toDate().toISOString(),
    ...traceIdField(orchestration.traceparent),
    ...eventCost(orchestration, marker.taskMillis),
  };
}

/** The event's `taskSeconds` and `cost`, when the orchestration and its marker recorded what they need. */
function eventCost(
  orchestration: Partial<Pick<OrchestrationDoc, 'resources' | 'pricing'>>,
  taskMillis: number | null | undefined,
): Pick<JobCompletedEvent, 'taskSeconds' | 'cost'> {
  const { resources, pricing } = orchestration;
  if (!resources || !pricing || taskMillis === null || taskMillis === undefined) return {};
  const cost = costOf(taskMillis, resources, pricing);
  return { taskSeconds: cost.taskSeconds, cost: { amount: cost.amount, currency: cost.currency } };
}

function traceIdField(traceparent: string | null | undefined): { traceId?: string } {
  const traceId = traceIdOf(traceparent);
  return traceId === null ? {} : { traceId };
}

/**
 * The Pub/Sub message for an event: JSON body plus filterable attributes, and `traceparent` (the W3C
 * trace context of the span that publishes it) when given.
 */
export function toPubSubMessage(event: JobCompletedEvent, traceparent?: string | null): PubSubMessage {
  return eventMessage(event, {
    orchestrationId: event.orchestrationId,
    jobName: event.jobName,
    status: event.status,
    ...(traceparent ? { traceparent } : {}),
  });
}

/** A Pub/Sub message: the JSON body and the attributes subscriptions filter on. */
export interface PubSubMessage {
  data: Buffer;
  attributes: Record<string, string>;
}

/**
 * An event's message: its JSON as the body; as attributes its tags, then `type`, `version`, `eventId`,
 * `epoch` and the event's own `attributes` (which win over tags of the same name; tags cannot use them).
 */
export function eventMessage(
  event: { type: string; version: number; eventId: string; epoch: number; tags: Record<string, string> },
  attributes: Record<string, string>,
): PubSubMessage {
  return {
    data: Buffer.from(JSON.stringify(event)),
    attributes: {
      ...event.tags,
      type: event.type,
      version: String(event.version),
      eventId: event.eventId,
      ...attributes,
      epoch: String(event.epoch),
    },
  };
}

/**
 * Parses an event message body with its schema; `E11_INVALID_EVENT` for text that is not JSON or a value
 * that does not match, naming the bad field. `name` is the event's type, for the message.
 */
export function parseEventMessage<T extends z.ZodType>(
  schema: T,
  name: string,
  data: Buffer | string,
): z.infer<T> {
  let raw: unknown;
  try {
    raw = JSON.parse(typeof data === 'string' ? data : data.toString('utf8'));
  } catch (error) {
    throw new E11Error(ErrorCode.InvalidEvent, `${name} message is not JSON.`, { cause: error });
  }
  const result = schema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    const path = issue?.path.join('.') ?? '';
    throw new E11Error(
      ErrorCode.InvalidEvent,
      `Invalid ${name} at '${path}': ${issue?.message ?? 'invalid'}.`,
      {
        context: { path },
      },
    );
  }
  return result.data;
}

/** Parses and validates a received message body; throws `E11_INVALID_EVENT` naming the bad field. */
export function parseJobCompletedEvent(data: Buffer | string): JobCompletedEvent {
  return parseEventMessage(jobCompletedEventSchema, 'JobCompletedEvent', data);
}
