import type { JobStatus } from '@e11/core';

/** Exit codes of a task process; Cloud Run marks a task failed on any non-zero code. */
export const ExitCode = {
  /**
   * The job's end is recorded, whatever it was (completed, failed for good, dead-lettered once its
   * attempts were used up), or this task has nothing (more) to do: a duplicate delivery found it ended,
   * another live task runs it, it was cancelled while it ran, or another task took it over. Cloud Run
   * spends no retry on such a task; the job's status is in Firestore, not in the task's.
   */
  Ok: 0,
  /**
   * The task could not record an end and leaves the job to a retry: a crash, a hung attempt released
   * for another, Firestore unreachable, a final write that could not be stored.
   */
  Failed: 1,
  /** Bad environment or configuration: missing env, unknown job name, duplicate @JobName, no job document. */
  Config: 2,
  /** Stopped by SIGTERM/SIGINT (128 + 15). */
  Interrupted: 143,
} as const;

/** One of {@link ExitCode}. */
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * How a task ended: `completed`, `failed` (Errored, or a final write that could not be stored),
 * `duplicate` (the job had already ended), `running-elsewhere` (another live task owns it),
 * `exhausted` (a dead attempt was found and no attempts were left), `interrupted` (SIGTERM),
 * `cancelled`, `lost` (another task took the job over), `invalid` (bad env or configuration).
 */
export type ExecuteOutcome =
  | 'completed'
  | 'failed'
  | 'duplicate'
  | 'running-elsewhere'
  | 'exhausted'
  | 'interrupted'
  | 'cancelled'
  | 'lost'
  | 'invalid';

/** What `executeJob` returns (and `runE11Job` before it exits). */
export interface ExecuteJobResult {
  /** The process exit code this outcome maps to. */
  exitCode: ExitCodeValue;
  outcome: ExecuteOutcome;
  /** The job's status as this task left or found it, when known. */
  status?: JobStatus;
  orchestrationId?: string;
  jobId?: string;
  /** The last attempt number this task ran. */
  attempt?: number;
}
