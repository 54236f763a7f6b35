import { randomUUID } from 'node:crypto';

import { FieldValue, Timestamp } from '@google-cloud/firestore';

import { DEFAULTS } from '../defaults.js';

import {
  type CompletionDoc,
  completionDocSchema,
  type OrchestrationDoc,
  orchestrationDocSchema,
} from '../model/documents.js';
import { parseDocument } from '../model/parse.js';
import { endStatus, type StatusCounts } from '../model/status.js';

import { now, type Store } from './store.js';

/** What {@link markOrchestrationDone} found or did. */
export type MarkDoneResult =
  /** This caller created the marker and holds the publish lease: it must publish the event. */
  | { outcome: 'created'; marker: CompletionDoc; orchestration: OrchestrationDoc }
  /** Another caller already ended this epoch. */
  | { outcome: 'exists'; marker: CompletionDoc; orchestration: OrchestrationDoc }
  /** The orchestration moved on (reopened by retryFailed) or is gone. */
  | { outcome: 'stale' };

/**
 * Ends an orchestration's current epoch exactly once: in one transaction, creates the completion
 * marker `completions/{epoch}` (only if absent) holding the publish lease for a new random holder, and
 * sets the orchestration's final status, counts and completedAt. Concurrent and duplicate callers get
 * `exists`. The caller of `created` publishes as `marker.leaseHolder`.
 */
export async function markOrchestrationDone(
  store: Store,
  input: {
    orchestrationId: string;
    epoch: number;
    counts: StatusCounts;
    leaseMs: number;
    /** The orchestration's task time as its counter shards add up (the event carries it). */
    taskMillis?: number;
  },
): Promise<MarkDoneResult> {
  const { collections } = store;
  const orchestrationRef = collections.orchestration(input.orchestrationId);
  const markerRef = collections.completion(input.orchestrationId, input.epoch);
  return store.firestore.runTransaction(async (tx) => {
    const [orchestrationSnap, markerSnap] = await tx.getAll(orchestrationRef, markerRef);
    if (!orchestrationSnap?.exists) return { outcome: 'stale' };
    const orchestration = parseDocument(orchestrationDocSchema, orchestrationSnap);
    if (markerSnap?.exists)
      return { outcome: 'exists', marker: parseDocument(completionDocSchema, markerSnap), orchestration };
    if (orchestration.epoch !== input.epoch) return { outcome: 'stale' };
    const at = now(store);
    const leaseUntil = Timestamp.fromMillis(at.toMillis() + input.leaseMs);
    const status = endStatus(input.counts, orchestration.cancelRequested, orchestration.cancelReason);
    const marker: CompletionDoc = {
      v: 1,
      epoch: input.epoch,
      eventId: `${input.orchestrationId}:${input.epoch}`,
      status,
      counts: input.counts,
      taskMillis: input.taskMillis ?? null,
      topic: orchestration.topic,
      published: false,
      publishAttempts: 0,
      messageId: null,
      lastPublishError: null,
      leaseUntil,
      leaseHolder: randomUUID(),
      createdAt: at,
      publishedAt: null,
    };
    tx.create(markerRef, marker);
    const ended = {
      status,
      counts: input.counts,
      taskMillis: input.taskMillis ?? null,
      completedAt: at,
      updatedAt: at,
      eventPending: true,
      eventRetryAt: leaseUntil,
    };
    tx.update(orchestrationRef, ended);
    return { outcome: 'created', marker, orchestration: { ...orchestration, ...ended } };
  });
}

/** Who publishes an epoch's event: the marker's key and the lease holder the publisher got. */
export interface PublishLease {
  orchestrationId: string;
  epoch: number;
  /** The holder id written with the lease (`CompletionDoc.leaseHolder`). */
  holder: string;
}

/**
 * Takes the publish lease of an unpublished marker whose lease expired (a publisher failed, died, or
 * outlived its lease) for a new random holder. Returns the marker and orchestration when this caller
 * now holds the lease, else undefined. Also moves the orchestration's `eventRetryAt` to the lease's
 * end, so the sweeper looks at it again only if this holder neither publishes nor records a failure.
 */
export async function acquirePublishLease(
  store: Store,
  input: { orchestrationId: string; epoch: number; leaseMs: number },
): Promise<{ marker: CompletionDoc; orchestration: OrchestrationDoc } | undefined> {
  const { collections } = store;
  const markerRef = collections.completion(input.orchestrationId, input.epoch);
  const orchestrationRef = collections.orchestration(input.orchestrationId);
  return store.firestore.runTransaction(async (tx) => {
    const [orchestrationSnap, markerSnap] = await tx.getAll(orchestrationRef, markerRef);
    if (!orchestrationSnap?.exists || !markerSnap?.exists) return undefined;
    const marker = parseDocument(completionDocSchema, markerSnap);
    const at = now(store);
    if (marker.published) return undefined;
    if (marker.leaseUntil !== null && marker.leaseUntil.toMillis() > at.toMillis()) return undefined;
    const leaseUntil = Timestamp.fromMillis(at.toMillis() + input.leaseMs);
    const leaseHolder = randomUUID();
    tx.update(markerRef, { leaseUntil, leaseHolder });
    const orchestration = parseDocument(orchestrationDocSchema, orchestrationSnap);
    if (orchestration.eventPending) tx.update(orchestrationRef, { eventRetryAt: leaseUntil });
    return { marker: { ...marker, leaseUntil, leaseHolder }, orchestration };
  });
}

/**
 * Records a successful publish by `holder`. Idempotent and fenced: if the event was already recorded
 * as published (a publisher that outlived its lease and one that took over both succeeded), the first
 * record stays — its messageId included — and only the attempt is counted. Otherwise marks the marker
 * published and drops the lease (whoever holds it: the event is out, nothing is left to publish).
 * Clears the orchestration's `eventPending` once no epoch's event is left unpublished (an older epoch's
 * event may still wait after a retryFailed).
 */
export async function markEventPublished(
  store: Store,
  input: PublishLease & { messageId: string },
): Promise<void> {
  const { collections } = store;
  const markerRef = collections.completion(input.orchestrationId, input.epoch);
  await store.firestore.runTransaction(async (tx) => {
    const [markerSnap, unpublished] = await Promise.all([
      tx.get(markerRef),
      tx.get(collections.completions(input.orchestrationId).where('published', '==', false)),
    ]);
    if (!markerSnap.exists) return;
    const marker = parseDocument(completionDocSchema, markerSnap);
    if (marker.published) {
      tx.update(markerRef, { publishAttempts: FieldValue.increment(1) });
      return;
    }
    const at = now(store);
    tx.update(markerRef, {
      published: true,
      messageId: input.messageId,
      publishedAt: at,
      publishAttempts: FieldValue.increment(1),
      leaseUntil: null,
      leaseHolder: null,
    });
    const othersPending = unpublished.docs.some((doc) => doc.id !== String(input.epoch));
    tx.update(
      collections.orchestration(input.orchestrationId),
      othersPending ? { eventRetryAt: at } : { eventPending: false, eventRetryAt: null },
    );
  });
}

/**
 * The sweeper's wait after the `failures`-th failed publish of one event: DEFAULTS.publishInitialBackoffMs
 * doubling per failure up to DEFAULTS.publishMaxBackoffMs. (A trigger redelivery does not wait: the
 * lease is released at once.)
 */
export function publishBackoffMs(failures: number): number {
  const exponent = Math.min(Math.max(failures - 1, 0), 30);
  return Math.min(DEFAULTS.publishMaxBackoffMs, DEFAULTS.publishInitialBackoffMs * 2 ** exponent);
}

/**
 * Records a failed publish by `holder`. Fenced: only while `holder` still holds the lease does it
 * release it (so a redelivery can publish at once) and push the orchestration's `eventRetryAt` back by
 * {@link publishBackoffMs} (so the sweeper serves other orchestrations first). A publisher that outlived
 * its lease only counts its attempt and error: the lease of the one that took over stays.
 */
export async function recordPublishFailure(
  store: Store,
  input: PublishLease & { error: string },
): Promise<void> {
  const { collections } = store;
  const markerRef = collections.completion(input.orchestrationId, input.epoch);
  const orchestrationRef = collections.orchestration(input.orchestrationId);
  await store.firestore.runTransaction(async (tx) => {
    const [orchestrationSnap, markerSnap] = await tx.getAll(orchestrationRef, markerRef);
    if (!markerSnap?.exists) return;
    const marker = parseDocument(completionDocSchema, markerSnap);
    const record = {
      lastPublishError: input.error.slice(0, 1_000),
      publishAttempts: FieldValue.increment(1),
    };
    if (marker.published || marker.leaseHolder !== input.holder) {
      tx.update(markerRef, record);
      return;
    }
    tx.update(markerRef, { ...record, leaseUntil: null, leaseHolder: null });
    if (orchestrationSnap?.exists && orchestrationSnap.get('eventPending') === true) {
      const retryAt = now(store).toMillis() + publishBackoffMs(marker.publishAttempts + 1);
      tx.update(orchestrationRef, { eventRetryAt: Timestamp.fromMillis(retryAt) });
    }
  });
}

/**
 * Clears `eventPending` of an orchestration none of whose epochs has an unpublished event (a flag left
 * behind): checked in the transaction, so it never hides an event still owed.
 */
export async function clearEventPending(store: Store, orchestrationId: string): Promise<void> {
  const { collections } = store;
  await store.firestore.runTransaction(async (tx) => {
    const unpublished = await tx.get(
      collections.completions(orchestrationId).where('published', '==', false).limit(1),
    );
    if (!unpublished.empty) return;
    tx.update(collections.orchestration(orchestrationId), { eventPending: false, eventRetryAt: null });
  });
}
