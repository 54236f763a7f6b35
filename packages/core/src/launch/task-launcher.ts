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

/** What {@link TaskLauncher.describe} tells about one execution. */
export interface ExecutionState {
  /** The execution ended (every task succeeded, failed or was cancelled); false while queued or running. */
  done: boolean;
  /** Tasks that succeeded, failed (retries used up) and were cancelled so far. */
  succeeded: number;
  failed: number;
  cancelled: number;
  /** Cloud Run's own words on the outcome (its `Completed` condition), e.g. why a task failed. */
  message?: string;
}

/**
 * Starts task executions. Two implementations: {@link CloudRunTaskService} (Cloud Run Admin API, or
 * the local Cloud Run emulator) and {@link LocalProcessLauncher} (spawns a local command; no server).
 * Launch errors are `E11Error`s with code `E11_LAUNCH_FAILED` and `retryable` set.
 */
export interface TaskLauncher {
  /**
   * The Cloud Run region it launches into, when it has one: a service given this launcher and no
   * region shares the launch budgets of this region.
   */
  readonly region?: string;
  launch(request: LaunchRequest): Promise<LaunchResult>;
  /**
   * The state of an execution this launcher started; undefined when it does not know it (gone from
   * Cloud Run's history, or started by another process). Optional: without it the sweeper falls back to
   * timeouts to tell a lost launch.
   */
  describe?(executionName: string): Promise<ExecutionState | undefined>;
  /**
   * The CPU and memory limits of a Cloud Run job's task (its first container's `resources.limits`), for
   * costing; undefined when it sets none. Optional: without it, kick-offs cost with Cloud Run's
   * defaults unless the service's `resources` option names the job.
   */
  jobLimits?(service: string): Promise<{ cpu?: string; memory?: string } | undefined>;
  /** Stops an execution's running tasks. Unknown or finished executions are ignored. */
  cancel(executionName: string): Promise<void>;
  /** Releases clients and processes. */
  close(): Promise<void>;
}
