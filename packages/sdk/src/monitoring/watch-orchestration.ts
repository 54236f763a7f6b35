import {
  E11Error,
  ErrorCode,
  type OrchestrationDoc,
  orchestrationDocSchema,
  parseDocument,
  hasEnded,
  type StatusCounts,
  terminalCount,
  sumShards,
  sumTaskMillis,
  isVisible,
  type Store,
} from '@e11/core';
import { type OrchestrationInfo, quietRecheck, toOrchestrationInfo } from '@e11/core/engine';
import type { DocumentSnapshot, QuerySnapshot, Timestamp } from '@google-cloud/firestore';
import { Observable, switchMap } from 'rxjs';

import { trackListener } from './listener-registry.js';
import { listenerFailure, unknownOrchestration } from './monitoring-errors.js';
import { visibleOrchestration } from './visible-orchestration.js';

/** When a watch stream completes. */
export type CompleteOn = 'status' | 'jobs';

/** Options of {@link OrchestrationService.watch}. */
export interface WatchOptions {
  /**
   * Error with `E11_TIMEOUT` when the orchestration has not ended this many milliseconds after
   * subscribing. @default no limit
   */
  timeoutMs?: number;
  /**
   * `'status'`: complete after the snapshot in which the orchestration has ended (terminal status and
   * `completedAt` set: the completion marker was written and the event is on its way). `'jobs'`:
   * complete as soon as every job is terminal by the live counts, without waiting for the completion
   * function (useful where no trigger runs). @default 'status'
   */
  completeOn?: CompleteOn;
}

/** What makes two snapshots different for a watcher (not `updatedAt`, which every write touches). */
function snapshotKey(info: OrchestrationInfo): string {
  const { counts } = info;
  return [
    info.status,
    info.epoch,
    counts.pending,
    counts.inProgress,
    counts.completed,
    counts.errored,
    counts.cancelled,
    info.cancelRequested,
    info.launchedAt?.getTime() ?? '',
    info.completedAt?.getTime() ?? '',
  ].join('|');
}

/** Validates watch options; throws `E11_INVALID_OPTIONS` naming the field. */
export function compileWatchOptions(options: WatchOptions = {}): {
  timeoutMs: number | null;
  completeOn: CompleteOn;
} {
  const { timeoutMs, completeOn = 'status' } = options;
  if (
    timeoutMs !== undefined &&
    (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs < 0)
  ) {
    throw new E11Error(
      ErrorCode.InvalidOptions,
      `timeoutMs must be a non-negative number, got ${String(timeoutMs)}.`,
      {
        context: { path: 'timeoutMs' },
      },
    );
  }
  if (completeOn !== 'status' && completeOn !== 'jobs') {
    throw new E11Error(
      ErrorCode.InvalidOptions,
      `completeOn must be 'status' or 'jobs', got ${JSON.stringify(completeOn)}.`,
      {
        context: { path: 'completeOn' },
      },
    );
  }
  return { timeoutMs: timeoutMs ?? null, completeOn };
}

/**
 * Snapshots of one orchestration (status, live counts, progress) from two Firestore real-time
 * listeners — the orchestration document and its counter shards — with no polling. Emits when
 * something a watcher cares about changed (status, epoch, counts, cancellation, launch, end) and
 * completes after the snapshot in which the orchestration ended (see {@link WatchOptions.completeOn});
 * the final snapshot carries the final counts stored with the end. The orchestration is read first,
 * and the listeners attach only once the store's tenant may see it. Errors with
 * `E11_UNKNOWN_ORCHESTRATION` for an unknown id or another tenant's (the same answer, before any
 * listener), or when the document is deleted; `E11_TIMEOUT` after `timeoutMs`, `E11_UNAVAILABLE` when a
 * listener fails. Cold: each subscription attaches its own listeners, and unsubscribing detaches them.
 */
export function watchOrchestration(
  store: Store,
  orchestrationId: string,
  options?: WatchOptions,
): Observable<OrchestrationInfo> {
  const { timeoutMs, completeOn } = compileWatchOptions(options);
  return endingWithin(
    visibleOrchestration(store, orchestrationId).pipe(
      switchMap(() => orchestrationSnapshots(store, orchestrationId, completeOn)),
    ),
    orchestrationId,
    timeoutMs,
  );
}

/**
 * `source`, failing with `E11_TIMEOUT` when it has not completed `timeoutMs` after subscribing
 * (`null`: no limit).
 */
export function endingWithin<T>(
  source: Observable<T>,
  orchestrationId: string,
  timeoutMs: number | null,
): Observable<T> {
  if (timeoutMs === null) return source;
  return new Observable<T>((subscriber) => {
    const timer = setTimeout(() => {
      subscriber.error(
        new E11Error(
          ErrorCode.Timeout,
          `Orchestration ${orchestrationId} did not end within ${timeoutMs} ms.`,
          {
            retryable: true,
            context: { orchestrationId },
          },
        ),
      );
    }, timeoutMs);
    const inner = source.subscribe(subscriber);
    return () => {
      clearTimeout(timer);
      inner.unsubscribe();
    };
  });
}

/**
 * The listeners of {@link watchOrchestration}, for an orchestration already checked with
 * {@link visibleOrchestration}. Every document snapshot is checked again: one the store's tenant may
 * not see errors the stream before anything of it is used. Internal: callers check first.
 */
export function orchestrationSnapshots(
  store: Store,
  orchestrationId: string,
  completeOn: CompleteOn,
): Observable<OrchestrationInfo> {
  return new Observable<OrchestrationInfo>((subscriber) => {
    let doc: OrchestrationDoc | undefined;
    let shards: StatusCounts | undefined;
    let taskMillis = 0;
    let lastKey: string | undefined;

    const update = () => {
      if (!doc || !shards) return;
      const ended = hasEnded(doc);
      // The document holds the final counts written with the end; the shard listener may lag behind it.
      const info = ended
        ? toOrchestrationInfo(doc, doc.counts, doc.taskMillis ?? taskMillis)
        : toOrchestrationInfo(doc, shards, taskMillis);
      const key = snapshotKey(info);
      if (key !== lastKey) {
        lastKey = key;
        subscriber.next(info);
      }
      const jobsDone = completeOn === 'jobs' && doc.registered && terminalCount(shards) >= doc.total;
      if (ended || jobsDone) subscriber.complete();
    };

    // A re-read may answer after a newer listener snapshot: the older of the two is dropped.
    let docRead: Timestamp | undefined;
    let countersRead: Timestamp | undefined;
    const older = (read: Timestamp, last: Timestamp | undefined) => last !== undefined && read < last;
    const onDocument = (snapshot: DocumentSnapshot) => {
      if (older(snapshot.readTime, docRead)) return;
      docRead = snapshot.readTime;
      if (!snapshot.exists) {
        // It existed, visibly, when the stream was checked.
        subscriber.error(unknownOrchestration(orchestrationId, true));
        return;
      }
      let next: OrchestrationDoc;
      try {
        next = parseDocument(orchestrationDocSchema, snapshot);
      } catch (error) {
        subscriber.error(error);
        return;
      }
      if (!isVisible(store, next)) {
        subscriber.error(unknownOrchestration(orchestrationId));
        return;
      }
      doc = next;
      update();
    };
    const onCounters = (snapshot: QuerySnapshot) => {
      if (older(snapshot.readTime, countersRead)) return;
      countersRead = snapshot.readTime;
      shards = sumShards(snapshot.docs.map((shard) => shard.data() as Partial<StatusCounts>));
      taskMillis = sumTaskMillis(snapshot.docs.map((shard) => shard.data()));
      update();
    };
    const failed = (error: Error) => subscriber.error(listenerFailure(error, orchestrationId));
    // A quiet spell re-reads both (see quietRecheck): a change a listener did not deliver cannot
    // leave the stream waiting.
    const recheck = quietRecheck(() =>
      Promise.all([
        store.collections.orchestration(orchestrationId).get(),
        store.collections.counters(orchestrationId).get(),
      ]).then(([document, counters]) => {
        if (subscriber.closed) return;
        onCounters(counters);
        onDocument(document);
      }, failed),
    );
    const heard =
      <T>(handle: (snapshot: T) => void) =>
      (snapshot: T) => {
        recheck.heard();
        handle(snapshot);
      };
    const detachDocument = trackListener(() =>
      store.collections.orchestration(orchestrationId).onSnapshot(heard(onDocument), failed),
    );
    const detachCounters = trackListener(() =>
      store.collections.counters(orchestrationId).onSnapshot(heard(onCounters), failed),
    );

    return () => {
      recheck.stop();
      detachDocument();
      detachCounters();
    };
  });
}
