import { Timestamp } from '@google-cloud/firestore';
import { context, SpanKind } from '@opentelemetry/api';

import { DEFAULTS } from '../defaults.js';
import {
  buildJobCompletedEvent,
  type JobCompletedEvent,
  toPubSubMessage,
} from '../events/job-completed-event.js';
import type { CompletionDoc, OrchestrationDoc } from '../model/documents.js';
import { type StatusCounts, terminalCount } from '../model/status.js';
import {
  acquirePublishLease,
  markEventPublished,
  markOrchestrationDone,
  recordPublishFailure,
} from '../store/completion-marker.js';
import { readCounts, readShardTotals } from '../store/counts.js';
import { findOrchestration } from '../store/orchestration-docs.js';
import type { Store } from '../store/store.js';
import { metricsRecorded, recordEventLatency } from '../telemetry/metrics.js';
import {
  contextFromTraceparent,
  e11Tracer,
  formatTraceparent,
  hasSpan,
  inSpan,
  TraceAttribute,
  TracerScope,
} from '../telemetry/trace-context.js';
import { isDocumentId } from '../validate/document-id.js';

import type { EventPublisher } from './event-publisher.js';

/** What completion detection needs. */
export interface CompletionDeps {
  store: Store;
  publisher: EventPublisher;
  /** How long a publisher holds the lease before another may retry. @default DEFAULTS.publishRetryAfterMs */
  leaseMs?: number;
}

/** What {@link checkCompletion} saw and did. */
export type CompletionCheck =
  | { outcome: 'unknown' }
  | { outcome: 'open'; counts: StatusCounts }
  /** Every job is terminal, but one was written within `settledForMs`: left to the trigger for now. */
  | { outcome: 'settling'; counts: StatusCounts }
  /** This call published the event. */
  | { outcome: 'published'; event: JobCompletedEvent; messageId: string; pipeline?: PipelineRef }
  /** The end was already handled (event published, or another publisher holds the lease). */
  | { outcome: 'already-ended'; pipeline?: PipelineRef };

/** The pipeline stage an ended orchestration ran, when it did (its end advances the pipeline). */
type PipelineRef = OrchestrationDoc['pipeline'];

async function publishMarker(
  deps: CompletionDeps,
  orchestration: OrchestrationDoc,
  marker: CompletionDoc,
): Promise<CompletionCheck> {
  const event = buildJobCompletedEvent(orchestration, marker);
  // Every write after the publish is fenced on the holder this caller got with the lease.
  const lease = { orchestrationId: orchestration.id, epoch: marker.epoch, holder: marker.leaseHolder ?? '' };
  let messageId: string;
  try {
    messageId = await tracedPublish(deps, orchestration, marker, event);
  } catch (error) {
    await recordPublishFailure(deps.store, {
      ...lease,
      error: error instanceof Error ? error.message : String(error),
    });
    throw error;
  }
  const publishedAtMs = deps.store.clock.now();
  await markEventPublished(deps.store, { ...lease, messageId });
  await recordLatency(deps.store, orchestration, publishedAtMs);
  return { outcome: 'published', event, messageId, pipeline: orchestration.pipeline };
}

/**
 * Publishes the event in a producer span whose W3C traceparent the message carries as its
 * `traceparent` attribute. The span is a child of the active span (the completion function's), else
 * of the orchestration's kick-off (a publish retried by the sweeper), so it stays in the kick-off's trace.
 */
function tracedPublish(
  deps: CompletionDeps,
  orchestration: OrchestrationDoc,
  marker: CompletionDoc,
  event: JobCompletedEvent,
): Promise<string> {
  const active = context.active();
  return inSpan(
    e11Tracer(TracerScope.core),
    `publish ${marker.topic}`,
    {
      kind: SpanKind.PRODUCER,
      parent: hasSpan(active) ? active : contextFromTraceparent(orchestration.traceparent),
      attributes: {
        'messaging.system': 'gcp_pubsub',
        'messaging.destination.name': marker.topic,
        'messaging.operation.type': 'send',
        'messaging.operation.name': 'publish',
        [TraceAttribute.orchestrationId]: orchestration.id,
        [TraceAttribute.jobName]: orchestration.jobName,
        [TraceAttribute.status]: event.status,
      },
    },
    async (span) => {
      const message = toPubSubMessage(event, formatTraceparent(span.spanContext()));
      const messageId = await deps.publisher.publish(marker.topic, message);
      span.setAttribute('messaging.message.id', messageId);
      return messageId;
    },
  );
}

/**
 * `e11.event.latency`: from the orchestration's last job end (the latest `finishedAt` of its jobs: one
 * read, made only while a MeterProvider records) to the publish. A failed read loses the point only.
 */
async function recordLatency(store: Store, orchestration: OrchestrationDoc, publishedAtMs: number) {
  if (!metricsRecorded('@e11/core')) return;
  try {
    const last = await store.collections
      .jobs(orchestration.id)
      .orderBy('finishedAt', 'desc')
      .select('finishedAt')
      .limit(1)
      .get();
    const finishedAt = last.docs[0]?.get('finishedAt') as Timestamp | null | undefined;
    if (!finishedAt) return;
    const latencyMs = publishedAtMs - finishedAt.toMillis();
    recordEventLatency('@e11/core', { jobName: orchestration.jobName, latencyMs });
  } catch {
    // The event is published; a metric never fails completion.
  }
}

/**
 * Completion detection for one orchestration, safe to call any number of times, concurrently, in any
 * order: reads the live counts (one aggregation over the counter shards) and, once no job is left
 * pending or in progress, the orchestration and the counts again: O(1), and one read for every job end
 * but the last. When every job is terminal, ends the epoch exactly once (completion marker created in a
 * transaction), then publishes the JobCompletedEvent under a lease fenced by holder. If publishing
 * fails the marker stays unpublished, the error is rethrown (so a trigger retry can run) and any later
 * call — a redelivered trigger or the sweeper — publishes it: the event is never lost, and two callers
 * publish it twice only when the first one outlived its lease (it died or was cut off between publish
 * and record); consumers de-duplicate on `eventId`.
 */
export async function checkCompletion(
  deps: CompletionDeps,
  orchestrationId: string,
  options: {
    /**
     * End the orchestration only when no job was written for this long (the sweeper's grace, which
     * leaves a normal end to the trigger). Checked only once every job is terminal.
     */
    settledForMs?: number;
  } = {},
): Promise<CompletionCheck> {
  const leaseMs = deps.leaseMs ?? DEFAULTS.publishRetryAfterMs;
  // Counts first: while a job is not terminal (every job end but the last) the check costs this one
  // aggregation and no orchestration read. A tenant-scoped store skips it, so a foreign orchestration
  // stays `unknown` (its counts are not the caller's to see). Past it, the counts are read again after
  // the orchestration, as before: counts read before the epoch could belong to an epoch a retryFailed
  // has since reopened.
  const early =
    deps.store.tenant === null && isDocumentId(orchestrationId)
      ? await readCounts(deps.store, orchestrationId)
      : undefined;
  if (early && early.pending + early.inProgress > 0) return { outcome: 'open', counts: early };
  const orchestration = await findOrchestration(deps.store, orchestrationId);
  if (!orchestration) return { outcome: 'unknown' };
  const epoch = orchestration.epoch;
  if (!orchestration.registered) return { outcome: 'open', counts: orchestration.counts };
  // The task time comes with the counts (same aggregation): the event carries it.
  const { counts, taskMillis } = await readShardTotals(deps.store, orchestrationId);
  if (terminalCount(counts) < orchestration.total) return { outcome: 'open', counts };
  if (
    options.settledForMs !== undefined &&
    (await jobWrittenSince(deps.store, orchestrationId, deps.store.clock.now() - options.settledForMs))
  ) {
    return { outcome: 'settling', counts };
  }
  const done = await markOrchestrationDone(deps.store, {
    orchestrationId,
    epoch,
    counts,
    leaseMs,
    taskMillis,
  });
  if (done.outcome === 'stale') return { outcome: 'already-ended' };
  if (done.outcome === 'created') return publishMarker(deps, done.orchestration, done.marker);
  if (done.marker.published) return { outcome: 'already-ended', pipeline: done.orchestration.pipeline };
  const retried = await retryPublish(deps, orchestrationId, epoch);
  return retried.outcome === 'already-ended'
    ? { ...retried, pipeline: done.orchestration.pipeline }
    : retried;
}

/** Whether a job of the orchestration was written after `sinceMs` (one indexed query, one document at most). */
async function jobWrittenSince(store: Store, orchestrationId: string, sinceMs: number): Promise<boolean> {
  const recent = await store.collections
    .jobs(orchestrationId)
    .where('updatedAt', '>', Timestamp.fromMillis(sinceMs))
    .select()
    .limit(1)
    .get();
  return !recent.empty;
}

/**
 * Publishes the event of an ended epoch whose publish failed or whose publisher died, if its lease
 * expired. Used by {@link checkCompletion} and the sweeper.
 */
export async function retryPublish(
  deps: CompletionDeps,
  orchestrationId: string,
  epoch: number,
): Promise<CompletionCheck> {
  const leased = await acquirePublishLease(deps.store, {
    orchestrationId,
    epoch,
    leaseMs: deps.leaseMs ?? DEFAULTS.publishRetryAfterMs,
  });
  if (!leased) return { outcome: 'already-ended' };
  return publishMarker(deps, leased.orchestration, leased.marker);
}
