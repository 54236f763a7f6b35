import { randomUUID } from 'node:crypto';

import type { CompiledJobDefinition } from './config.js';
import type { ExecutionSnapshot, ExecutionState, TaskSnapshot, TaskState } from './interfaces.js';
import { OutputBuffer } from './output-buffer.js';
import type { ExecutionName } from './resource-names.js';
import { executionName, jobName, taskName } from './resource-names.js';
import type { TaskProcess, TaskProcessExit } from './task-process.js';
import { formatSeconds } from './time.js';

/** How one finished attempt ended. */
export interface AttemptResult extends TaskProcessExit {
  timedOut: boolean;
}

/** The mutable state of one task, owned by the scheduler. */
export interface TaskRecord {
  index: number;
  uid: string;
  /** `pending` also covers waiting in a start delay (`process` undefined) or for a retry. */
  state: TaskState;
  /** Attempt number of the current or last attempt; -1 before the first starts. */
  attempt: number;
  retried: number;
  createTimeMs: number;
  scheduledTimeMs?: number;
  startTimeMs?: number;
  completionTimeMs?: number;
  lastResult?: AttemptResult;
  pids: number[];
  output: OutputBuffer;
  /** The running attempt. */
  process?: TaskProcess;
  /** Holds a concurrency slot: starting (delayed) or running. */
  holdsSlot: boolean;
  /** Pending start-delay or kill timers of the current attempt. */
  timers: NodeJS.Timeout[];
  /** Whether the current attempt has hit its timeout. */
  timedOut: boolean;
}

/** What RunJob decided for one execution: the job definition with the overrides applied. */
export interface ExecutionSpec {
  job: CompiledJobDefinition;
  name: ExecutionName;
  args: string[];
  /** Job env merged with override env. */
  env: Record<string, string>;
  taskCount: number;
  timeoutMs: number;
}

/** Why an execution was cancelled. */
export type CancelReason = 'cancelled' | 'deleted' | 'stopped';

/** The mutable state of one execution. */
export interface ExecutionRecord {
  spec: ExecutionSpec;
  name: string;
  jobName: string;
  uid: string;
  /** Creation order, for FIFO scheduling across executions. */
  seq: number;
  createTimeMs: number;
  startTimeMs?: number;
  completionTimeMs?: number;
  updateTimeMs: number;
  /** Bumped on every change; the etag. */
  version: number;
  tasks: TaskRecord[];
  /** Indices of tasks waiting to start, in order; retries go to the front. */
  queue: number[];
  /** Tasks holding a slot (delayed start or running). */
  slotsHeld: number;
  cancelReason?: CancelReason;
  /** Set once every task has ended. */
  outcome?: 'succeeded' | 'failed' | 'cancelled';
  deleteTimeMs?: number;
  /** Resolves when `outcome` is set. */
  done: Promise<void>;
  markDone: () => void;
}

/** A new execution with every task pending. */
export function createExecutionRecord(
  spec: ExecutionSpec,
  seq: number,
  outputLimitBytes: number,
): ExecutionRecord {
  const now = Date.now();
  let markDone: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (markDone = resolve));
  const tasks: TaskRecord[] = Array.from({ length: spec.taskCount }, (_, index) => ({
    index,
    uid: randomUUID(),
    state: 'pending',
    attempt: -1,
    retried: 0,
    createTimeMs: now,
    pids: [],
    output: new OutputBuffer(outputLimitBytes),
    holdsSlot: false,
    timers: [],
    timedOut: false,
  }));
  return {
    spec,
    name: executionName(spec.name),
    jobName: jobName(spec.name),
    uid: randomUUID(),
    seq,
    createTimeMs: now,
    updateTimeMs: now,
    version: 1,
    tasks,
    queue: tasks.map((t) => t.index),
    slotsHeld: 0,
    done,
    markDone,
  };
}

/** Records a change: bumps the etag and the update time. */
export function touch(execution: ExecutionRecord): void {
  execution.version += 1;
  execution.updateTimeMs = Date.now();
}

/** Per-state task counts of an execution. */
export interface ExecutionCounts {
  running: number;
  succeeded: number;
  failed: number;
  cancelled: number;
  retried: number;
}

export function countTasks(execution: ExecutionRecord): ExecutionCounts {
  const counts = { running: 0, succeeded: 0, failed: 0, cancelled: 0, retried: 0 };
  for (const task of execution.tasks) {
    counts.retried += task.retried;
    if (task.state === 'running') counts.running += 1;
    else if (task.state === 'succeeded') counts.succeeded += 1;
    else if (task.state === 'failed') counts.failed += 1;
    else if (task.state === 'cancelled') counts.cancelled += 1;
  }
  return counts;
}

export function executionState(execution: ExecutionRecord): ExecutionState {
  if (execution.outcome) return execution.outcome;
  return execution.startTimeMs === undefined ? 'pending' : 'running';
}

function attemptFailure(task: TaskRecord): string {
  const result = task.lastResult;
  if (!result) return 'The task did not run.';
  if (result.timedOut) return 'The configured timeout was reached.';
  if (result.spawnError !== undefined) return `The container could not start: ${result.spawnError}.`;
  if (result.signal) return `The container was terminated by signal ${result.signal}.`;
  return `The container exited with an error (exit code ${result.exitCode ?? 'unknown'}).`;
}

/** The message of the `Completed` condition, worded like Cloud Run's. */
export function completionMessage(execution: ExecutionRecord): string {
  const counts = countTasks(execution);
  const id = execution.spec.name.executionId;
  switch (executionState(execution)) {
    case 'pending':
      return execution.cancelReason ? 'Cancelling execution.' : 'Waiting for tasks to start.';
    case 'running':
      return execution.cancelReason
        ? 'Cancelling execution.'
        : `${counts.succeeded} / ${execution.spec.taskCount} tasks complete.`;
    case 'succeeded':
      return `Execution completed successfully in ${formatSeconds((execution.completionTimeMs ?? 0) - execution.createTimeMs)}.`;
    case 'cancelled':
      return execution.cancelReason === 'stopped'
        ? 'The execution was cancelled because the emulator stopped.'
        : 'The execution was cancelled.';
    case 'failed': {
      const failed = execution.tasks.find((t) => t.state === 'failed');
      const detail = failed
        ? ` Task ${id}-task${failed.index} failed with message: ${attemptFailure(failed)}`
        : '';
      return `Execution failed: ${counts.failed} of ${execution.spec.taskCount} tasks failed.${detail}`;
    }
  }
}

function date(ms: number | undefined): Date | undefined {
  return ms === undefined ? undefined : new Date(ms);
}

export function taskSnapshot(execution: ExecutionRecord, task: TaskRecord): TaskSnapshot {
  return {
    index: task.index,
    name: taskName({ ...execution.spec.name, taskIndex: task.index }),
    state: task.state,
    attempt: task.attempt,
    retried: task.retried,
    pids: [...task.pids],
    startTime: date(task.startTimeMs),
    completionTime: date(task.completionTimeMs),
    exitCode: task.lastResult?.exitCode ?? undefined,
    signal: task.lastResult?.signal ?? undefined,
    timedOut: task.lastResult?.timedOut ?? false,
  };
}

export function executionSnapshot(execution: ExecutionRecord): ExecutionSnapshot {
  const counts = countTasks(execution);
  const { spec } = execution;
  return {
    name: execution.name,
    id: spec.name.executionId,
    uid: execution.uid,
    project: spec.name.project,
    location: spec.name.location,
    jobId: spec.name.jobId,
    jobName: execution.jobName,
    state: executionState(execution),
    cancelRequested: execution.cancelReason !== undefined,
    createTime: new Date(execution.createTimeMs),
    startTime: date(execution.startTimeMs),
    completionTime: date(execution.completionTimeMs),
    taskCount: spec.taskCount,
    parallelism: spec.job.parallelism,
    maxRetries: spec.job.maxRetries,
    timeoutMs: spec.timeoutMs,
    args: [...spec.args],
    env: { ...spec.env },
    runningCount: counts.running,
    succeededCount: counts.succeeded,
    failedCount: counts.failed,
    cancelledCount: counts.cancelled,
    retriedCount: counts.retried,
    message: completionMessage(execution),
    tasks: execution.tasks.map((task) => taskSnapshot(execution, task)),
  };
}
