import type { Timestamp } from '@google-cloud/firestore';

import type { JobDoc } from '../model/documents.js';

/**
 * What a running task knows of its job's document: its content (`job`) as of `updateTime`, the time of
 * the last write the task made — its claim or one of its own fenced writes. A write with the
 * precondition `lastUpdateTime: updateTime` applies only if nobody wrote the document since; the job
 * is then still `InProgress` under the task's claim exactly as `job` says, so the write needs no read
 * first. When the precondition fails (someone else wrote: a cancel, a takeover, a recorded launch, the
 * watchdog thread's heartbeat) the writer reads the document, as it would without a version.
 */
export interface KnownVersion {
  job: JobDoc;
  updateTime: Timestamp;
}

/**
 * A task's holder of its {@link KnownVersion}: the claim fills it, each fenced write of the task takes
 * it (a write that fails or goes the read path leaves it empty) and puts back the version it wrote.
 */
export interface JobVersion {
  current: KnownVersion | undefined;
}

/** Takes the version out of `holder` (empty afterwards); undefined when there is none. */
export function takeVersion(holder: { version?: JobVersion }): KnownVersion | undefined {
  const known = holder.version?.current;
  if (holder.version) holder.version.current = undefined;
  return known;
}

/** Puts the version a successful write made back into `holder`. */
export function keepVersion(holder: { version?: JobVersion }, job: JobDoc, updateTime: Timestamp): void {
  if (holder.version) holder.version.current = { job, updateTime };
}
