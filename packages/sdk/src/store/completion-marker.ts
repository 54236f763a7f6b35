import { FieldValue, Timestamp } from '@google-cloud/firestore';

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
 * marker `completions/{epoch}` (only if absent) holding the publish lease, and sets the orchestration's
 * final status, counts and completedAt. Concurrent and duplicate callers get `exists`.
 */
export async function markOrchestrationDone(
  store: Store,
  input: { orchestrationId: string; epoch: number; counts: StatusCounts; leaseMs: number },
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
    const status = endStatus(input.counts, orchestration.cancelRequested);
    const marker: CompletionDoc = {
      v: 1,
      epoch: input.epoch,
      eventId: `${input.orchestrationId}:${input.epoch}`,
      status,
      counts: input.counts,
      topic: orchestration.topic,
      published: false,
      publishAttempts: 0,
      messageId: null,
      lastPublishError: null,
      leaseUntil: Timestamp.fromMillis(at.toMillis() + input.leaseMs),
      createdAt: at,
      publishedAt: null,
    };
    tx.create(markerRef, marker);
    tx.update(orchestrationRef, {
      status,
      counts: input.counts,
      completedAt: at,
      updatedAt: at,
      eventPending: true,
    });
    return {
      outcome: 'created',
      marker,
      orchestration: {
        ...orchestration,
        status,
        counts: input.counts,
        completedAt: at,
        updatedAt: at,
        eventPending: true,
      },
    };
  });
}

/**
 * Takes the publish lease of an unpublished marker whose lease expired (a publisher failed or died).
 * Returns the marker and orchestration when this caller now holds the lease, else undefined.
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
    tx.update(markerRef, { leaseUntil });
    return {
      marker: { ...marker, leaseUntil },
      orchestration: parseDocument(orchestrationDocSchema, orchestrationSnap),
    };
  });
}

/**
 * Records a successful publish and releases the lease; clears the orchestration's `eventPending` once
 * no epoch's event is left unpublished (an older epoch's event may still wait after a retryFailed).
 */
export async function markEventPublished(
  store: Store,
  input: { orchestrationId: string; epoch: number; messageId: string },
): Promise<void> {
  const { collections } = store;
  await store.firestore.runTransaction(async (tx) => {
    const unpublished = await tx.get(
      collections.completions(input.orchestrationId).where('published', '==', false),
    );
    tx.update(collections.completion(input.orchestrationId, input.epoch), {
      published: true,
      messageId: input.messageId,
      publishedAt: now(store),
      publishAttempts: FieldValue.increment(1),
      leaseUntil: null,
    });
    if (unpublished.docs.every((marker) => marker.id === String(input.epoch))) {
      tx.update(collections.orchestration(input.orchestrationId), { eventPending: false });
    }
  });
}

/** Records a failed publish and releases the lease at once, so a retry (redelivery, sweeper) can publish. */
export async function recordPublishFailure(
  store: Store,
  input: { orchestrationId: string; epoch: number; error: string },
): Promise<void> {
  await store.collections.completion(input.orchestrationId, input.epoch).update({
    lastPublishError: input.error.slice(0, 1_000),
    publishAttempts: FieldValue.increment(1),
    leaseUntil: null,
  });
}
