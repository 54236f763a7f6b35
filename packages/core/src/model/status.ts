/**
 * Job and orchestration statuses. Three — `InProgress`, `Completed`, `Errored` — are the stable
 * public contract; `Pending` (registered, not started yet) and `Cancelled` complete the state machine:
 *
 * ```
 * Pending ──claim──▶ InProgress ──▶ Completed
 *    │                   │  ▲──────▶ Errored (deadLettered once attempts are exhausted)
 *    │                   │  └─ crash/timeout with attempts left ─▶ Pending (relaunched)
 *    ├──launch failed────┴──────────▶ Errored
 *    └──cancel()─────────────────────▶ Cancelled
 * Errored ──retryFailed()──▶ Pending
 * ```
 */
export const JobStatus = {
  Pending: 'Pending',
  InProgress: 'InProgress',
  Completed: 'Completed',
  Errored: 'Errored',
  Cancelled: 'Cancelled',
} as const;

/** A job's status. */
export type JobStatus = (typeof JobStatus)[keyof typeof JobStatus];

/** An orchestration's status: `Pending` while registering and launching, then like a job's. */
export type OrchestrationStatus = JobStatus;

/** The statuses a job or orchestration does not leave on its own. */
export const TERMINAL_STATUSES: readonly JobStatus[] = [
  JobStatus.Completed,
  JobStatus.Errored,
  JobStatus.Cancelled,
];

/** True for Completed, Errored and Cancelled. */
export function isTerminal(status: JobStatus): boolean {
  return status === JobStatus.Completed || status === JobStatus.Errored || status === JobStatus.Cancelled;
}

/** Counts of jobs per status. */
export interface StatusCounts {
  pending: number;
  inProgress: number;
  completed: number;
  errored: number;
  cancelled: number;
}

/** The field of {@link StatusCounts} that counts `status`. */
export function countField(status: JobStatus): keyof StatusCounts {
  switch (status) {
    case JobStatus.Pending:
      return 'pending';
    case JobStatus.InProgress:
      return 'inProgress';
    case JobStatus.Completed:
      return 'completed';
    case JobStatus.Errored:
      return 'errored';
    case JobStatus.Cancelled:
      return 'cancelled';
  }
}

/** All zero. */
export function emptyCounts(): StatusCounts {
  return { pending: 0, inProgress: 0, completed: 0, errored: 0, cancelled: 0 };
}

/** Jobs that reached a terminal status. */
export function terminalCount(counts: StatusCounts): number {
  return counts.completed + counts.errored + counts.cancelled;
}

/**
 * How an orchestration ended, from its final counts: `Errored` when its `maxFailures` ended it,
 * `Completed` when its `successPolicy` did, `Cancelled` when it was cancelled, `Errored` when any job
 * failed, otherwise `Completed`.
 */
export function endStatus(
  counts: StatusCounts,
  cancelRequested: boolean,
  cancelReason: string | null = null,
): OrchestrationStatus {
  if (cancelRequested && cancelReason === 'maxFailures') return JobStatus.Errored;
  if (cancelRequested && cancelReason === 'successPolicy') return JobStatus.Completed;
  if (cancelRequested) return JobStatus.Cancelled;
  if (counts.errored > 0) return JobStatus.Errored;
  if (counts.cancelled > 0) return JobStatus.Cancelled;
  return JobStatus.Completed;
}

/** True once the completion marker ended the current epoch (terminal status and `completedAt` set). */
export function hasEnded(doc: { status: OrchestrationStatus; completedAt: unknown }): boolean {
  return isTerminal(doc.status) && doc.completedAt !== null;
}
