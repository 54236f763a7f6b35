/** One launch: an execution of `taskCount` tasks of a Cloud Run job, with env overrides. */
export interface LaunchRequest {
  /** The Cloud Run job id (see the service-name mapping), e.g. `process-batch`. */
  service: string;
  /** Environment overrides for the container (merged with the job's own env by Cloud Run). */
  env: Readonly<Record<string, string>>;
  /** Tasks in the execution: 1 in per-job mode, N in array mode. */
  taskCount: number;
  /** Task timeout override. */
  timeoutMs?: number | null;
  /** Container args override (replaces the job's args). */
  args?: readonly string[];
}

/** What a launch returns as soon as the execution exists (it does not wait for the tasks). */
export interface LaunchResult {
  /** Full execution resource name, e.g. `projects/p/locations/r/jobs/j/executions/j-abcde`. */
  executionName: string;
}

/**
 * Starts task executions. Two implementations: {@link CloudRunTaskService} (Cloud Run Admin API, or
 * the local Cloud Run emulator) and {@link LocalProcessLauncher} (spawns a local command; no server).
 * Launch errors are `E11Error`s with code `E11_LAUNCH_FAILED` and `retryable` set.
 */
export interface TaskLauncher {
  launch(request: LaunchRequest): Promise<LaunchResult>;
  /** Stops an execution's running tasks. Unknown or finished executions are ignored. */
  cancel(executionName: string): Promise<void>;
  /** Releases clients and processes. */
  close(): Promise<void>;
}
