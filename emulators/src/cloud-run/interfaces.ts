/**
 * The public types of the Cloud Run Jobs emulator. The comments live here; the implementation files
 * refer to these types.
 */

/**
 * One job: the local command that stands in for the container image. Relative paths (`cwd`, a
 * `command` containing a slash) resolve against the config file's directory, or against the current
 * directory for jobs defined in code. `args` are passed verbatim, so relative paths in them resolve
 * against the task's `cwd`, as they would against a container's working directory.
 */
export interface CloudRunJobDefinition {
  /** The program to run. `"node"` runs on the emulator's own Node (`process.execPath`). */
  command: string;
  /** Arguments, the container's `args`. RunJob overrides replace them. @default [] */
  args?: string[];
  /** Working directory. @default the config file's directory (or `process.cwd()` for code) */
  cwd?: string;
  /** Environment of every task, on top of the emulator's own environment. @default {} */
  env?: Record<string, string>;
  /** Shown as the container image in GetJob; not used to run anything. @default `local/{job id}` */
  image?: string;
  /** Tasks per execution, 1 to 10,000. @default 1 */
  taskCount?: number;
  /** Tasks of one execution that may run at once; 0 means no limit. @default 0 */
  parallelism?: number;
  /** Retries of a failed task attempt, 0 to 10. @default 3 (Cloud Run's default) */
  maxRetries?: number;
  /** Timeout of one task attempt, like `"600s"`, `"10m"`, `"1.5h"` or `"250ms"`; at most 7 days. @default "600s" */
  timeout?: string;
  /**
   * The task container's CPU limit as Cloud Run writes it (`"1"`, `"2"`, `"1000m"`), returned by GetJob
   * in `template.template.containers[0].resources.limits.cpu`; not enforced on the local process.
   * @default none (GetJob returns no `cpu` limit)
   */
  cpu?: string;
  /** The memory limit (`"512Mi"`, `"2Gi"`), returned by GetJob like `cpu`; not enforced. @default none */
  memory?: string;
}

/** The config file's shape: job id (an RFC 1035 label, e.g. `word-count`) → definition. */
export interface CloudRunEmulatorConfig {
  jobs: Record<string, CloudRunJobDefinition>;
}

/** A pino-compatible logger: a pino `Logger` fits, and so does any object with these four methods. */
export interface CloudRunEmulatorLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Which task attempt a chunk of output came from. */
export interface TaskOutputInfo {
  /** Full execution name, `projects/{p}/locations/{l}/jobs/{job}/executions/{id}`. */
  executionName: string;
  /** Short execution id, the value of `CLOUD_RUN_EXECUTION`. */
  executionId: string;
  jobId: string;
  taskIndex: number;
  attempt: number;
  stream: 'stdout' | 'stderr';
  pid: number;
}

/** Options of {@link startCloudRunEmulator}; all optional. */
export interface CloudRunEmulatorOptions {
  /** Interface to listen on. @default '127.0.0.1' */
  host?: string;
  /** Port to listen on; 0 picks a free one. @default 0 */
  port?: number;
  /** Job definitions: the path of a JSON config file, or the config itself. @default no jobs */
  config?: string | CloudRunEmulatorConfig;
  /** Time between SIGTERM and SIGKILL when a task times out or is cancelled. @default 10000 (as Cloud Run) */
  killGraceMs?: number;
  /**
   * Task processes running at once across all executions: the machine's cap, not Cloud Run's (a
   * process per task is far heavier than a container slot). @default 4 per CPU core, at least 4
   */
  maxConcurrentTasks?: number;
  /** Cloud Run's limits on starting executions, modelled per project and region. @default none */
  limits?: CloudRunLimits;
  /** Extra variables for every task, on top of the emulator's own `process.env`. @default {} */
  env?: Record<string, string>;
  /** Bytes of stdout + stderr kept per task (the tail). @default 262144 */
  taskOutputLimitBytes?: number;
  /** Called with every chunk a task writes. Output is never printed unless this callback prints it. */
  onTaskOutput?: (info: TaskOutputInfo, chunk: string) => void;
  /** Where the emulator logs what it does. @default silent */
  logger?: CloudRunEmulatorLogger;
}

/** The limits {@link CloudRunLimits} models. */
export type RunLimitName = 'runRequestsPerMinute' | 'maxRunningExecutions';

/**
 * Cloud Run's limits on starting executions, per project and region. A RunJob call over one of them
 * answers RESOURCE_EXHAUSTED (gRPC 8, HTTP 429) with Cloud Run's quota message and starts nothing;
 * `validateOnly` calls and calls refused for another reason count against neither. Production's
 * figures: about 1,000 running executions, and a "job run requests per minute" quota that projects
 * report between 60 and 180.
 */
export interface CloudRunLimits {
  /** RunJob calls accepted per minute (a sliding window); 0 = no limit. @default 0 */
  runRequestsPerMinute?: number;
  /** Executions not yet ended (pending or running); 0 = no limit. @default 0 */
  maxRunningExecutions?: number;
  /** The quota's minute, shortened to keep a test or a bench run short. @default 60000 */
  windowMs?: number;
}

/** The gRPC status codes that {@link CloudRunEmulatorFaults.rejectNextRuns} can inject. */
export type RejectionCode = 'RESOURCE_EXHAUSTED' | 'UNAVAILABLE';

/** Failure injection, to test how callers cope with a quota, an outage or a crashing task. */
export interface CloudRunEmulatorFaults {
  /**
   * The next `count` RunJob calls fail with `code`: RESOURCE_EXHAUSTED (gRPC 8, HTTP 429: the "job
   * run requests per minute" quota) or UNAVAILABLE (gRPC 14, HTTP 503). No execution is created.
   * Replaces any rejection still pending; 0 clears it.
   */
  rejectNextRuns(count: number, code: RejectionCode): void;
  /**
   * Every RunJob call in the next `ms` milliseconds fails with `code` — a quota or outage window by
   * time rather than by count, as Cloud Run's "job run requests per minute" quota behaves. Counted
   * rejections ({@link rejectNextRuns}) are consumed first. Replaces any window still open; 0 closes it.
   */
  rejectRunsFor(ms: number, code: RejectionCode): void;
  /** Wait `ms` before starting each new task process (0 clears), like a slow image pull or cold start. */
  delayStart(ms: number): void;
  /**
   * Sends `signal` to the process group of the task's running attempt. Resolves `true` once that
   * attempt has exited, `false` at once if no attempt of that task was running. The attempt counts
   * as failed, so the task is retried if it has retries left.
   * @default signal 'SIGKILL'
   */
  killTask(executionName: string, taskIndex: number, signal?: NodeJS.Signals): Promise<boolean>;
  /** The next task attempt that starts is sent `signal` `ms` after it started. @default signal 'SIGKILL' */
  killNextTaskAfter(ms: number, signal?: NodeJS.Signals): void;
  /** Removes every pending fault. */
  clear(): void;
}

/** Counters for tests and dashboards. */
export interface CloudRunEmulatorStats {
  /** Calls per RPC method name, e.g. `{ RunJob: 3, GetOperation: 7 }`, including rejected ones. */
  calls: Record<string, number>;
  /** Task attempts started (a retry counts again). */
  tasksStarted: number;
  /** Task processes running now. */
  tasksRunning: number;
  /** RunJob calls refused by {@link CloudRunLimits}, by limit (injected rejections not included). */
  rejectedRuns: Record<RunLimitName, number>;
  /** Executions not yet ended, all projects and regions. */
  executionsRunning: number;
}

/** Where an execution is in its life. */
export type ExecutionState = 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled';

/** Where a task is in its life; `pending` also covers a task waiting for its next attempt. */
export type TaskState = 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled';

/** A plain copy of one task's state. */
export interface TaskSnapshot {
  index: number;
  /** Full task name, `{execution name}/tasks/{execution id}-task{index}`. */
  name: string;
  state: TaskState;
  /** Number of the current or last attempt (0-based); -1 before the first attempt starts. */
  attempt: number;
  /** Attempts that failed and were retried. */
  retried: number;
  /** Process ids of every attempt so far, oldest first. */
  pids: number[];
  /** Start of the current or last attempt. */
  startTime?: Date;
  completionTime?: Date;
  /** Exit code of the last finished attempt, when it exited on its own. */
  exitCode?: number;
  /** Signal that ended the last finished attempt, when a signal did. */
  signal?: NodeJS.Signals;
  /** Whether the last finished attempt hit the task timeout. */
  timedOut: boolean;
}

/** A plain copy of one execution's state, for assertions in tests. */
export interface ExecutionSnapshot {
  /** `projects/{p}/locations/{l}/jobs/{job}/executions/{id}`. */
  name: string;
  /** Short id, `{job}-{5 letters}`: the value of `CLOUD_RUN_EXECUTION`. */
  id: string;
  uid: string;
  project: string;
  location: string;
  jobId: string;
  /** `projects/{p}/locations/{l}/jobs/{job}`. */
  jobName: string;
  state: ExecutionState;
  /** True once a cancel was requested (CancelExecution, DeleteExecution or stop()). */
  cancelRequested: boolean;
  createTime: Date;
  startTime?: Date;
  completionTime?: Date;
  taskCount: number;
  parallelism: number;
  maxRetries: number;
  timeoutMs: number;
  /** Effective container args after overrides. */
  args: string[];
  /** Job env merged with override env (not the emulator's own env). */
  env: Record<string, string>;
  runningCount: number;
  succeededCount: number;
  failedCount: number;
  cancelledCount: number;
  retriedCount: number;
  /** The message of the `Completed` condition. */
  message: string;
  tasks: TaskSnapshot[];
}

/** Options of {@link CloudRunEmulator.waitForExecution}. */
export interface WaitForExecutionOptions {
  /** Reject after this long. @default 30000 */
  timeoutMs?: number;
}

/** A running Cloud Run Jobs emulator. */
export interface CloudRunEmulator {
  readonly host: string;
  readonly port: number;
  /** `host:port`, e.g. for `CLOUD_RUN_EMULATOR_HOST`. */
  readonly endpoint: string;
  /**
   * Adds or replaces a job. Validated like a config file entry; throws
   * {@link CloudRunEmulatorError} naming the field. Running executions keep their definition.
   */
  defineJob(id: string, definition: CloudRunJobDefinition): void;
  readonly faults: CloudRunEmulatorFaults;
  stats(): CloudRunEmulatorStats;
  /** Every execution still kept, oldest first. */
  listExecutions(): ExecutionSnapshot[];
  /**
   * Resolves with the execution's final snapshot once every task has ended (at once if it already
   * has). Rejects with `E11_CLOUD_RUN_UNKNOWN_EXECUTION` or `E11_CLOUD_RUN_WAIT_TIMEOUT`.
   */
  waitForExecution(executionName: string, options?: WaitForExecutionOptions): Promise<ExecutionSnapshot>;
  /** The kept tail of a task's stdout and stderr, every attempt, interleaved as written; '' if unknown. */
  taskOutput(executionName: string, taskIndex: number): string;
  /**
   * Stops the gRPC server and every task (SIGTERM to each process group, SIGKILL after a short
   * grace) and resolves once all of them have exited; unfinished executions end as cancelled.
   * Single-flight: later calls return the same promise.
   */
  stop(): Promise<void>;
}
