import { type JobErrorInfo, type JobStatus, type OrchestrationStatus, type StatusCounts } from '@e11/core';
import type { OrchestrationInfo } from '@e11/core/engine';

import type { JobTransition } from './job-changes.js';

/**
 * The events an SSE stream sends (`event:` name → `data:` JSON):
 *
 * - `status` — an {@link OrchestrationInfo}: first on every connection (also after a resume), then
 *   whenever the status, epoch, cancellation, launch or end changed.
 * - `progress` — a {@link ProgressEvent} whenever only the counts changed.
 * - `job` — a {@link JobEvent} per job transition. Never params or results.
 * - `completed` — the final {@link OrchestrationInfo}; the server then ends the response. Clients
 *   should `close()` their EventSource on it, or the browser reconnects.
 * - `stream-error` — `{ code, message }` when the stream cannot go on (the orchestration was deleted,
 *   a listener failed); the response ends after it.
 */
export type SseEventName = 'status' | 'progress' | 'job' | 'completed' | 'stream-error';

/** `progress` event data. */
export interface ProgressEvent {
  orchestrationId: string;
  status: OrchestrationStatus;
  epoch: number;
  total: number;
  counts: StatusCounts;
  /** Share of jobs that reached a terminal status, 0..1. */
  progress: number;
}

/** `job` event data: what changed on one job, without its params or result. */
export interface JobEvent {
  type: JobTransition['type'];
  orchestrationId: string;
  jobId: string;
  index: number;
  status: JobStatus;
  previousStatus: JobStatus | null;
  attempt: number;
  progress: { ratio: number; message: string | null } | null;
  error: Pick<JobErrorInfo, 'code' | 'message'> | null;
  deadLettered: boolean;
  discarded: boolean;
  updatedAt: string;
}

/** The `progress` payload of a snapshot. */
export function toProgressEvent(info: OrchestrationInfo): ProgressEvent {
  return {
    orchestrationId: info.id,
    status: info.status,
    epoch: info.epoch,
    total: info.total,
    counts: info.counts,
    progress: info.progress,
  };
}

/** The `job` payload of a transition. */
export function toJobEvent(transition: JobTransition): JobEvent {
  const { job } = transition;
  return {
    type: transition.type,
    orchestrationId: job.orchestrationId,
    jobId: job.id,
    index: job.index,
    status: job.status,
    previousStatus: transition.previousStatus,
    attempt: job.attempt,
    progress: job.progress ? { ratio: job.progress.ratio, message: job.progress.message } : null,
    error: job.error ? { code: job.error.code, message: job.error.message } : null,
    deadLettered: job.deadLettered,
    discarded: job.discarded,
    updatedAt: job.updatedAt.toISOString(),
  };
}

/** True when a new snapshot deserves a full `status` event rather than a `progress` one. */
export function statusChanged(before: OrchestrationInfo, after: OrchestrationInfo): boolean {
  return (
    before.status !== after.status ||
    before.epoch !== after.epoch ||
    before.cancelRequested !== after.cancelRequested ||
    before.launchedAt?.getTime() !== after.launchedAt?.getTime() ||
    before.completedAt?.getTime() !== after.completedAt?.getTime()
  );
}
