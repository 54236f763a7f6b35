import { type OrchestrationDoc, isVisible, type Store } from '@e11/core';
import type { OrchestrationInfo } from '@e11/core/engine';
import { Observable, of, switchMap } from 'rxjs';

import { type JobChangeBatch, type JobChangesStart, listenJobChanges } from './job-changes.js';
import { visibleOrchestration } from './visible-orchestration.js';
import {
  type CompleteOn,
  compileWatchOptions,
  endingWithin,
  orchestrationSnapshots,
  type WatchOptions,
} from './watch-orchestration.js';

/** One item of an {@link orchestrationFeed}: a new orchestration snapshot, or a batch of job changes. */
export type FeedItem =
  { kind: 'orchestration'; info: OrchestrationInfo } | { kind: 'jobs'; batch: JobChangeBatch };

/** Options of {@link orchestrationFeed}. */
export interface FeedOptions extends WatchOptions {
  /** Which jobs the first jobs snapshot reports. @default 'all' */
  jobsStart?: JobChangesStart;
  /** Report heartbeat-only job writes too. @default false */
  includeHeartbeats?: boolean;
  /**
   * The orchestration as the caller already read it through the store's tenant check
   * (`loadOrchestration`), so the feed does not read it again. @default read by the feed
   */
  checked?: OrchestrationDoc;
}

/**
 * The orchestration snapshots of `watchOrchestration` merged with the job changes of `jobChanges`
 * (three listeners: orchestration document, counter shards, jobs). The orchestration is read first:
 * an unknown id, or one of another tenant, errors with `E11_UNKNOWN_ORCHESTRATION` before any listener
 * is attached. The first orchestration snapshot comes before any job change (job batches wait for
 * it), and a document snapshot the store's tenant may not see errors the feed. Completes once the
 * orchestration ended (as `completeOn` defines) AND the jobs listener has seen every job terminal, so
 * no final job transition is lost to the two listeners' different timing.
 */
export function orchestrationFeed(
  store: Store,
  orchestrationId: string,
  options: FeedOptions = {},
): Observable<FeedItem> {
  const { jobsStart, includeHeartbeats, checked, ...watchOptions } = options;
  const { timeoutMs, completeOn } = compileWatchOptions(watchOptions);
  // A given document is used only when it is this orchestration's and visible to the store's tenant.
  const reuse = checked?.id === orchestrationId && isVisible(store, checked);
  const orchestration = reuse ? of(checked) : visibleOrchestration(store, orchestrationId);
  return endingWithin(
    orchestration.pipe(
      switchMap((checked) =>
        checkedFeed(store, checked, completeOn, { start: jobsStart, includeHeartbeats }),
      ),
    ),
    orchestrationId,
    timeoutMs,
  );
}

/** The feed's listeners, for an orchestration already checked with {@link visibleOrchestration}. */
function checkedFeed(
  store: Store,
  checked: OrchestrationDoc,
  completeOn: CompleteOn,
  jobOptions: { start?: JobChangesStart; includeHeartbeats?: boolean },
): Observable<FeedItem> {
  return new Observable<FeedItem>((subscriber) => {
    let latest: OrchestrationInfo | undefined;
    let ended = false;
    let jobsSeen = -1;
    let terminalSeen = 0;
    // Job batches wait for the first visible orchestration snapshot (defence in depth: every document
    // snapshot is checked against the store's tenant, and one that fails errors the feed).
    let held: JobChangeBatch[] = [];
    const completeIfDone = () => {
      if (ended && latest && jobsSeen >= latest.total && terminalSeen === jobsSeen) subscriber.complete();
    };
    const forward = (batch: JobChangeBatch) => {
      jobsSeen = batch.jobs;
      terminalSeen = batch.terminal;
      subscriber.next({ kind: 'jobs', batch });
    };
    const jobs = listenJobChanges(store, checked, jobOptions).subscribe({
      next: (batch) => {
        if (!latest) {
          held.push(batch);
          return;
        }
        forward(batch);
        completeIfDone();
      },
      error: (error: unknown) => subscriber.error(error),
    });
    const orchestration = orchestrationSnapshots(store, checked.id, completeOn).subscribe({
      next: (info) => {
        const first = latest === undefined;
        latest = info;
        subscriber.next({ kind: 'orchestration', info });
        if (first) {
          const waiting = held;
          held = [];
          for (const batch of waiting) forward(batch);
          completeIfDone();
        }
      },
      complete: () => {
        ended = true;
        completeIfDone();
      },
      error: (error: unknown) => subscriber.error(error),
    });
    return () => {
      orchestration.unsubscribe();
      jobs.unsubscribe();
    };
  });
}
