import {
  type JobDoc,
  type OrchestrationDoc,
  type JobParams,
  parseJobDocument,
  isTerminal,
  type JobStatus,
  findOrchestration,
  type Store,
  readUnwrittenJobs,
} from '@e11/core';
import { type JobInfo, quietRecheck, toJobInfo, waitingReason } from '@e11/core/engine';
import {
  type DocumentChange,
  type DocumentChangeType,
  type QuerySnapshot,
  Timestamp,
} from '@google-cloud/firestore';
import { Observable, switchMap } from 'rxjs';

import { trackListener } from './listener-registry.js';
import { listenerFailure } from './monitoring-errors.js';
import { visibleOrchestration } from './visible-orchestration.js';

/** One change of one job, as `watchJobs` emits it. */
export interface JobTransition<P extends JobParams = JobParams, R = unknown> {
  /** `added` for jobs in the first snapshot (or created later), `modified` afterwards, `removed` on deletion. */
  type: DocumentChangeType;
  job: JobInfo<P, R>;
  /** The status before this change; `null` for `added`. */
  previousStatus: JobStatus | null;
}

/** A transition with the Firestore commit time of its change (server clock, nanosecond precision). */
export interface TimedJobTransition {
  transition: JobTransition;
  updateTime: Timestamp;
}

/** Everything one jobs-listener snapshot told us. */
export interface JobChangeBatch {
  /** Meaningful changes: oldest commit first (by index within one commit); the initial listing by index. */
  changes: TimedJobTransition[];
  /** Every change up to this time is reflected; the resume point of an SSE stream. */
  readTime: Timestamp;
  /** Jobs currently in the collection, and how many of them are terminal. */
  jobs: number;
  terminal: number;
}

/** Which jobs the first snapshot reports: all, none, or those changed after a point in time. */
export type JobChangesStart = 'all' | 'none' | { after: Timestamp };

/** Options of {@link jobChanges}. */
export interface JobChangesOptions {
  /** @default 'all' */
  start?: JobChangesStart;
  /** Report changes that touch only the heartbeat (or progress time) too. @default false */
  includeHeartbeats?: boolean;
}

/** Orders Firestore timestamps (their `valueOf()` strings sort chronologically). */
export function compareTimestamps(a: Timestamp, b: Timestamp): number {
  const x = a.valueOf();
  const y = b.valueOf();
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The fields whose change is worth reporting: status, attempts, progress, error, dead-letter state. */
function changeKey(job: JobDoc): string {
  return JSON.stringify([
    job.status,
    job.epoch,
    job.attempt,
    job.progress?.ratio ?? null,
    job.progress?.message ?? null,
    job.error?.code ?? null,
    job.error?.message ?? null,
    job.deadLettered,
    job.discarded,
  ]);
}

/**
 * One Firestore real-time listener on an orchestration's jobs collection, as batches of meaningful
 * job transitions (heartbeat-only writes skipped) with the snapshot's read time. Emits one batch per
 * snapshot, even when nothing meaningful changed, so callers can follow `readTime` and the terminal
 * count. The orchestration is read first: one the store's tenant may not see (or none) errors with
 * `E11_UNKNOWN_ORCHESTRATION` before any listener is attached. Unsubscribing detaches the listener.
 */
export function jobChanges(
  store: Store,
  orchestrationId: string,
  options: JobChangesOptions = {},
): Observable<JobChangeBatch> {
  return visibleOrchestration(store, orchestrationId).pipe(
    switchMap((orchestration) => listenJobChanges(store, orchestration, options)),
  );
}

/**
 * {@link jobChanges} of an orchestration already read and checked with {@link visibleOrchestration}
 * (its params chunks give the jobs that have no document yet). Internal: callers check first.
 */
export function listenJobChanges(
  store: Store,
  orchestration: OrchestrationDoc,
  options: JobChangesOptions = {},
): Observable<JobChangeBatch> {
  const orchestrationId = orchestration.id;
  const start = options.start ?? 'all';
  return new Observable<JobChangeBatch>((subscriber) => {
    const seen = new Map<
      string,
      { key: string; status: JobStatus; unwritten?: true; updateTime?: Timestamp }
    >();
    let terminal = 0;
    let first = true;
    // The orchestration's stored sensitive keys (from the checked read): every job is redacted.
    // A task stores its class's keys before it claims a job (kick-off by an unregistered name), so
    // they are read once more when the first claimed job is seen.
    let sensitiveKeys: readonly string[] = orchestration.sensitiveKeys;
    let keysAfterClaim = false;
    const refreshKeys = async (snapshot: QuerySnapshot) => {
      const claimed = (change: DocumentChange) => Number(change.doc.get('attempt') ?? 0) >= 1;
      if (keysAfterClaim || !snapshot.docChanges().some(claimed)) return;
      keysAfterClaim = true;
      sensitiveKeys = (await findOrchestration(store, orchestrationId))?.sensitiveKeys ?? sensitiveKeys;
    };
    // Pending jobs with no document yet come from the params chunks, read once, with the first snapshot.
    const unwrittenChanges = async (snapshot: QuerySnapshot): Promise<TimedJobTransition[]> => {
      const stored = new Set(snapshot.docs.map((doc) => doc.id));
      const changes: TimedJobTransition[] = [];
      for (const job of await readUnwrittenJobs(store, orchestration, stored)) {
        seen.set(job.id, { key: changeKey(job), status: job.status, unwritten: true });
        if (start === 'none') continue;
        if (typeof start === 'object' && compareTimestamps(job.updatedAt, start.after) <= 0) continue;
        changes.push({
          transition: {
            type: 'added',
            job: toJobInfo(job, sensitiveKeys, waitingReason(job, orchestration, store.clock.now())),
            previousStatus: null,
          },
          updateTime: job.updatedAt,
        });
      }
      return changes;
    };

    const onSnapshot = (snapshot: QuerySnapshot, unwritten: TimedJobTransition[]) => {
      const changes: TimedJobTransition[] = [...unwritten];
      for (const change of snapshot.docChanges()) {
        const before = seen.get(change.doc.id);
        // A re-read (see recheckWhenQuiet) lists documents the listener may have delivered already.
        if (
          change.type !== 'removed' &&
          before?.updateTime &&
          compareTimestamps(change.doc.updateTime, before.updateTime) <= 0
        ) {
          continue;
        }
        if (before && isTerminal(before.status)) terminal--;
        if (change.type === 'removed') seen.delete(change.doc.id);
        let job: JobDoc;
        try {
          job = parseJobDocument(change.doc);
        } catch (error) {
          subscriber.error(error);
          return;
        }
        if (change.type !== 'removed') {
          const key = changeKey(job);
          if (isTerminal(job.status)) terminal++;
          seen.set(job.id, { key, status: job.status, updateTime: change.doc.updateTime });
          if (before && before.key === key && !options.includeHeartbeats) continue;
        }
        const updateTime = change.type === 'removed' ? snapshot.readTime : change.doc.updateTime;
        if (first && start === 'none') continue;
        if (first && typeof start === 'object' && compareTimestamps(updateTime, start.after) <= 0) continue;
        // A job's first document is a change of a job already listed (Pending, from its params chunk),
        // and so is a job a re-read lists again.
        const type = before && change.type === 'added' ? 'modified' : change.type;
        changes.push({
          transition: {
            type,
            job: toJobInfo(job, sensitiveKeys, waitingReason(job, orchestration, store.clock.now())),
            previousStatus: before?.status ?? null,
          },
          updateTime,
        });
      }
      // The initial listing reads best in index order; changes go oldest first, so that a stream's
      // resume point (the newest update time sent) never passes a change that was not sent yet.
      const byIndex = first && start === 'all';
      changes.sort(
        (a, b) =>
          (byIndex ? 0 : compareTimestamps(a.updateTime, b.updateTime)) ||
          a.transition.job.index - b.transition.job.index,
      );
      first = false;
      subscriber.next({ changes, readTime: snapshot.readTime, jobs: seen.size, terminal });
    };

    // Snapshots are handled in order; the first waits for the params chunks.
    let queue = Promise.resolve();
    let listed = false;
    const enqueue = (snapshot: QuerySnapshot) => {
      const initial = !listed;
      listed = true;
      queue = queue
        .then(async () => {
          const unwritten = initial ? await unwrittenChanges(snapshot) : [];
          await refreshKeys(snapshot);
          if (!subscriber.closed) onSnapshot(snapshot, unwritten);
        })
        .catch((error: unknown) => subscriber.error(error));
    };

    // A quiet spell re-reads the jobs written since the last snapshot, with a minute's margin for
    // writers' clocks (see quietRecheck): a change the listener did not deliver cannot leave a stream
    // waiting for a job's end. Without any snapshot yet, the re-read (every job) is the listing.
    let lastRead: Timestamp | undefined;
    const recheck = quietRecheck(() =>
      store.collections
        .jobs(orchestrationId)
        .where('updatedAt', '>', Timestamp.fromMillis((lastRead?.toMillis() ?? 0) - 60_000))
        .get()
        .then(
          (recent) => {
            if (!subscriber.closed && recent.size > 0) enqueue(recent);
          },
          (error: Error) => subscriber.error(listenerFailure(error, orchestrationId)),
        ),
    );
    const detach = trackListener(() =>
      store.collections.jobs(orchestrationId).onSnapshot(
        (snapshot) => {
          lastRead = snapshot.readTime;
          recheck.heard();
          enqueue(snapshot);
        },
        (error) => subscriber.error(listenerFailure(error, orchestrationId)),
      ),
    );
    return () => {
      recheck.stop();
      detach();
    };
  });
}
