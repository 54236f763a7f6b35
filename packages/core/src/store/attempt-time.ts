import { Timestamp } from '@google-cloud/firestore';

import type { AttemptRecord, JobDoc } from '../model/documents.js';

/**
 * Task time: each attempt's duration is added to its orchestration's counter shard (`taskMillis`) by
 * the write that closes the attempt, in the same transaction or batch that moves the shard's counts.
 * The duration is exactly the closed record's `finishedAt − startedAt`, so the sum over the jobs'
 * attempt records equals the orchestration's task time (records dropped past
 * DEFAULTS.maxAttemptRecords stay counted in the shard).
 */

/** Milliseconds the open attempt ran if it is closed at `finishedAt`; 0 when none is open. */
export function openAttemptMillis(attempts: readonly AttemptRecord[], finishedAt: Timestamp): number {
  const open = attempts.findLast((record) => record.finishedAt === null);
  return open ? Math.max(0, finishedAt.toMillis() - open.startedAt.toMillis()) : 0;
}

/**
 * When a dead attempt (its task stopped without reporting) ended: its last heartbeat, the last time
 * it was known to run, kept between the attempt's start and `at`. The sweeper and a claim taking over
 * close such attempts with it, so their task time is not stretched to when the death was noticed.
 */
export function deadAttemptEnd(job: Pick<JobDoc, 'attempts' | 'heartbeatAt'>, at: Timestamp): Timestamp {
  const open = job.attempts.findLast((record) => record.finishedAt === null);
  const startMs = open?.startedAt.toMillis() ?? at.toMillis();
  const lastSignMs = job.heartbeatAt?.toMillis() ?? startMs;
  return Timestamp.fromMillis(Math.min(at.toMillis(), Math.max(startMs, lastSignMs)));
}

/**
 * When an attempt that is ended from outside (cancel) ended: now, or its last heartbeat when that is
 * older than `staleAfterMs` (its task was already dead).
 */
export function outsideAttemptEnd(
  job: Pick<JobDoc, 'attempts' | 'heartbeatAt'>,
  at: Timestamp,
  staleAfterMs: number,
): Timestamp {
  const heartbeat = job.heartbeatAt?.toMillis();
  return heartbeat !== undefined && at.toMillis() - heartbeat > staleAfterMs ? deadAttemptEnd(job, at) : at;
}
