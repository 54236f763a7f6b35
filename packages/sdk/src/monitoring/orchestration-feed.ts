import { Observable } from 'rxjs';

import type { OrchestrationInfo } from '../orchestration/views.js';
import type { Store } from '../store/store.js';

import { type JobChangeBatch, jobChanges, type JobChangesStart } from './job-changes.js';
import { watchOrchestration, type WatchOptions } from './watch-orchestration.js';

/** One item of an {@link orchestrationFeed}: a new orchestration snapshot, or a batch of job changes. */
export type FeedItem =
  { kind: 'orchestration'; info: OrchestrationInfo } | { kind: 'jobs'; batch: JobChangeBatch };

/** Options of {@link orchestrationFeed}. */
export interface FeedOptions extends WatchOptions {
  /** Which jobs the first jobs snapshot reports. @default 'all' */
  jobsStart?: JobChangesStart;
  /** Report heartbeat-only job writes too. @default false */
  includeHeartbeats?: boolean;
}

/**
 * The orchestration snapshots of {@link watchOrchestration} merged with the job changes of
 * {@link jobChanges} (three listeners: orchestration document, counter shards, jobs). Completes once
 * the orchestration ended (as `completeOn` defines) AND the jobs listener has seen every job
 * terminal, so no final job transition is lost to the two listeners' different timing.
 */
export function orchestrationFeed(
  store: Store,
  orchestrationId: string,
  options: FeedOptions = {},
): Observable<FeedItem> {
  const { jobsStart, includeHeartbeats, ...watchOptions } = options;
  const snapshots = watchOrchestration(store, orchestrationId, watchOptions);
  return new Observable<FeedItem>((subscriber) => {
    let latest: OrchestrationInfo | undefined;
    let ended = false;
    let jobsSeen = -1;
    let terminalSeen = 0;
    const completeIfDone = () => {
      if (ended && latest && jobsSeen >= latest.total && terminalSeen === jobsSeen) subscriber.complete();
    };
    const jobs = jobChanges(store, orchestrationId, { start: jobsStart, includeHeartbeats }).subscribe({
      next: (batch) => {
        jobsSeen = batch.jobs;
        terminalSeen = batch.terminal;
        subscriber.next({ kind: 'jobs', batch });
        completeIfDone();
      },
      error: (error: unknown) => subscriber.error(error),
    });
    const orchestration = snapshots.subscribe({
      next: (info) => {
        latest = info;
        subscriber.next({ kind: 'orchestration', info });
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
