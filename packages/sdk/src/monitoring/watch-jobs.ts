import { type JobParams, type Store } from '@e11/core';
import { mergeMap, type Observable } from 'rxjs';

import type { JobTransition } from './job-changes.js';
import { orchestrationFeed } from './orchestration-feed.js';
import type { WatchOptions } from './watch-orchestration.js';

/** Options of {@link OrchestrationService.watchJobs}. */
export interface WatchJobsOptions extends WatchOptions {
  /** Emit every existing job as `added` first (`true`), or only changes from now on. @default true */
  initial?: boolean;
  /** Emit writes that touch only the heartbeat too. @default false */
  includeHeartbeats?: boolean;
}

/**
 * Per-job transitions of one orchestration from a Firestore real-time listener on its jobs
 * (`docChanges`): `{ type: 'added' | 'modified' | 'removed', job, previousStatus }`, oldest commit first
 * within a snapshot, heartbeat-only writes skipped. Completes when the orchestration ended (see
 * {@link WatchOptions.completeOn}) and every job's final transition was emitted; errors like
 * `watch()` (`E11_UNKNOWN_ORCHESTRATION`, `E11_TIMEOUT`, `E11_UNAVAILABLE`). The orchestration is read
 * and checked against the store's tenant before the jobs listener attaches: another tenant's id gets
 * the unknown id's error and none of its jobs. Unsubscribing detaches
 * its listeners. Cost: the jobs listener reads every job document once when it attaches (jobs not
 * started yet: their params chunks, one read per 100 jobs) and keeps them in memory, then one read per
 * change; `watch()` alone reads only the document and the shards.
 */
export function watchJobs<P extends JobParams = JobParams, R = unknown>(
  store: Store,
  orchestrationId: string,
  options: WatchJobsOptions = {},
): Observable<JobTransition<P, R>> {
  const { initial = true, ...feedOptions } = options;
  return orchestrationFeed(store, orchestrationId, {
    ...feedOptions,
    jobsStart: initial ? 'all' : 'none',
  }).pipe(
    mergeMap((item) =>
      item.kind === 'jobs'
        ? item.batch.changes.map((change) => change.transition as JobTransition<P, R>)
        : [],
    ),
  );
}
