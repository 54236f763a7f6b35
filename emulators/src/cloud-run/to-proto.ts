import { constants } from 'node:os';

import type { CompiledJobDefinition } from './config.js';
import type { ExecutionRecord, TaskRecord } from './execution-record.js';
import { completionMessage, countTasks, executionState } from './execution-record.js';
import type { ExecutionStore } from './execution-store.js';
import type { JobName } from './resource-names.js';
import { jobName, taskName } from './resource-names.js';
import type { ProtoSecondsNanos } from './time.js';
import { toDuration, toTimestamp } from './time.js';

/** The shapes written to the wire (proto-loader, camelCase, enums by name); only the fields we fill. */
export interface ProtoCondition {
  type: string;
  state: 'CONDITION_PENDING' | 'CONDITION_RECONCILING' | 'CONDITION_FAILED' | 'CONDITION_SUCCEEDED';
  message?: string;
  lastTransitionTime?: ProtoSecondsNanos;
  severity?: 'ERROR' | 'WARNING' | 'INFO';
  executionReason?: 'NON_ZERO_EXIT_CODE' | 'CANCELLED' | 'CANCELLING';
}

export interface ProtoContainer {
  name: string;
  image: string;
  command: string[];
  args: string[];
  env: { name: string; value: string }[];
  workingDir: string;
  resources: { limits: Record<string, string> };
}

export interface ProtoTaskTemplate {
  containers: ProtoContainer[];
  maxRetries: number;
  timeout: ProtoSecondsNanos;
}

function ts(ms: number | undefined): ProtoSecondsNanos | undefined {
  return ms === undefined ? undefined : toTimestamp(ms);
}

function etag(version: number, uid: string): string {
  return `"${uid.slice(0, 8)}-${version.toString(36)}"`;
}

function container(job: CompiledJobDefinition, args: string[], env: Record<string, string>): ProtoContainer {
  return {
    name: '',
    image: job.image,
    command: [job.command],
    args,
    env: Object.entries(env).map(([name, value]) => ({ name, value })),
    workingDir: job.cwd,
    resources: { limits: { ...job.limits } },
  };
}

function taskTemplate(
  job: CompiledJobDefinition,
  args: string[],
  env: Record<string, string>,
  timeoutMs: number,
): ProtoTaskTemplate {
  return {
    containers: [container(job, args, env)],
    maxRetries: job.maxRetries,
    timeout: toDuration(timeoutMs),
  };
}

function completedCondition(execution: ExecutionRecord): ProtoCondition {
  const message = completionMessage(execution);
  const lastTransitionTime = ts(execution.completionTimeMs ?? execution.updateTimeMs);
  switch (executionState(execution)) {
    case 'pending':
      return { type: 'Completed', state: 'CONDITION_PENDING', message, lastTransitionTime };
    case 'running':
      return execution.cancelReason
        ? {
            type: 'Completed',
            state: 'CONDITION_RECONCILING',
            message,
            lastTransitionTime,
            executionReason: 'CANCELLING',
          }
        : { type: 'Completed', state: 'CONDITION_RECONCILING', message, lastTransitionTime };
    case 'succeeded':
      return { type: 'Completed', state: 'CONDITION_SUCCEEDED', message, lastTransitionTime };
    case 'failed':
      return {
        type: 'Completed',
        state: 'CONDITION_FAILED',
        message,
        lastTransitionTime,
        severity: 'ERROR',
        executionReason: 'NON_ZERO_EXIT_CODE',
      };
    case 'cancelled':
      return {
        type: 'Completed',
        state: 'CONDITION_FAILED',
        message,
        lastTransitionTime,
        executionReason: 'CANCELLED',
      };
  }
}

/** A `google.cloud.run.v2.Execution`. */
export function executionToProto(execution: ExecutionRecord): Record<string, unknown> {
  const { spec } = execution;
  const counts = countTasks(execution);
  const started = execution.startTimeMs !== undefined;
  const startedState = started ? 'CONDITION_SUCCEEDED' : 'CONDITION_PENDING';
  const conditions: ProtoCondition[] = [
    completedCondition(execution),
    { type: 'ResourcesAvailable', state: startedState, lastTransitionTime: ts(execution.startTimeMs) },
    { type: 'Started', state: startedState, lastTransitionTime: ts(execution.startTimeMs) },
  ];
  return {
    name: execution.name,
    uid: execution.uid,
    generation: '1',
    createTime: ts(execution.createTimeMs),
    startTime: ts(execution.startTimeMs),
    completionTime: ts(execution.completionTimeMs),
    updateTime: ts(execution.updateTimeMs),
    deleteTime: ts(execution.deleteTimeMs),
    launchStage: 'GA',
    job: spec.name.jobId,
    parallelism: spec.job.parallelism,
    taskCount: spec.taskCount,
    template: taskTemplate(spec.job, spec.args, spec.env, spec.timeoutMs),
    reconciling: execution.outcome === undefined,
    conditions,
    observedGeneration: '1',
    runningCount: counts.running,
    succeededCount: counts.succeeded,
    failedCount: counts.failed,
    cancelledCount: counts.cancelled,
    retriedCount: counts.retried,
    etag: etag(execution.version, execution.uid),
  };
}

function lastAttemptResult(task: TaskRecord): Record<string, unknown> | undefined {
  const result = task.lastResult;
  if (!result) return undefined;
  const termSignal = result.signal ? constants.signals[result.signal] : 0;
  const exitCode = result.exitCode ?? 0;
  let status = { code: 0, message: '' };
  if (result.timedOut) status = { code: 4, message: 'The configured timeout was reached.' };
  else if (result.spawnError !== undefined)
    status = { code: 2, message: `The container could not start: ${result.spawnError}` };
  else if (result.signal)
    status = { code: 2, message: `The container was terminated by signal ${result.signal}.` };
  else if (exitCode !== 0) status = { code: 2, message: 'The container exited with an error.' };
  return { status, exitCode, termSignal };
}

function taskCompletedCondition(task: TaskRecord): ProtoCondition {
  const lastTransitionTime = ts(task.completionTimeMs ?? task.startTimeMs ?? task.createTimeMs);
  switch (task.state) {
    case 'pending':
      return task.attempt < 0
        ? { type: 'Completed', state: 'CONDITION_PENDING', message: 'Waiting to start.', lastTransitionTime }
        : {
            type: 'Completed',
            state: 'CONDITION_RECONCILING',
            message: 'Waiting to retry.',
            lastTransitionTime,
          };
    case 'running':
      return { type: 'Completed', state: 'CONDITION_RECONCILING', message: 'Running.', lastTransitionTime };
    case 'succeeded':
      return {
        type: 'Completed',
        state: 'CONDITION_SUCCEEDED',
        message: 'Completed successfully.',
        lastTransitionTime,
      };
    case 'failed':
      return {
        type: 'Completed',
        state: 'CONDITION_FAILED',
        message:
          (lastAttemptResult(task)?.['status'] as { message: string } | undefined)?.message ?? 'Failed.',
        lastTransitionTime,
        severity: 'ERROR',
        executionReason: 'NON_ZERO_EXIT_CODE',
      };
    case 'cancelled':
      return {
        type: 'Completed',
        state: 'CONDITION_FAILED',
        message: 'The task was cancelled.',
        lastTransitionTime,
        executionReason: 'CANCELLED',
      };
  }
}

/** A `google.cloud.run.v2.Task`. */
export function taskToProto(execution: ExecutionRecord, task: TaskRecord): Record<string, unknown> {
  const { spec } = execution;
  const terminal = task.state === 'succeeded' || task.state === 'failed' || task.state === 'cancelled';
  return {
    name: taskName({ ...spec.name, taskIndex: task.index }),
    uid: task.uid,
    generation: '1',
    createTime: ts(task.createTimeMs),
    scheduledTime: ts(task.scheduledTimeMs),
    startTime: ts(task.startTimeMs),
    completionTime: ts(task.completionTimeMs),
    updateTime: ts(task.completionTimeMs ?? task.startTimeMs ?? task.createTimeMs),
    job: spec.name.jobId,
    execution: spec.name.executionId,
    containers: [container(spec.job, spec.args, spec.env)],
    maxRetries: spec.job.maxRetries,
    timeout: toDuration(spec.timeoutMs),
    reconciling: !terminal,
    conditions: [
      taskCompletedCondition(task),
      {
        type: 'Started',
        state: task.startTimeMs === undefined ? 'CONDITION_PENDING' : 'CONDITION_SUCCEEDED',
        lastTransitionTime: ts(task.startTimeMs),
      },
    ] satisfies ProtoCondition[],
    observedGeneration: '1',
    index: task.index,
    retried: task.retried,
    lastAttemptResult: lastAttemptResult(task),
    etag: etag(execution.version, task.uid),
  };
}

const COMPLETION_STATUS = {
  pending: 'EXECUTION_PENDING',
  running: 'EXECUTION_RUNNING',
  succeeded: 'EXECUTION_SUCCEEDED',
  failed: 'EXECUTION_FAILED',
  cancelled: 'EXECUTION_CANCELLED',
} as const;

/** A `google.cloud.run.v2.Job` for the definition, named under the requested project and location. */
export function jobToProto(
  job: CompiledJobDefinition,
  name: JobName,
  store: ExecutionStore,
): Record<string, unknown> {
  const fullName = jobName(name);
  const executions = store.forJob(fullName);
  const latest = executions[0];
  return {
    name: fullName,
    uid: job.uid,
    generation: '1',
    createTime: ts(job.createdAtMs),
    updateTime: ts(job.createdAtMs),
    launchStage: 'GA',
    template: {
      parallelism: job.parallelism,
      taskCount: job.taskCount,
      template: taskTemplate(job, job.args, job.env, job.timeoutMs),
    },
    observedGeneration: '1',
    terminalCondition: {
      type: 'Ready',
      state: 'CONDITION_SUCCEEDED',
      lastTransitionTime: ts(job.createdAtMs),
    },
    conditions: [],
    executionCount: executions.length,
    latestCreatedExecution: latest && {
      name: latest.name,
      createTime: ts(latest.createTimeMs),
      completionTime: ts(latest.completionTimeMs),
      completionStatus: COMPLETION_STATUS[executionState(latest)],
    },
    reconciling: false,
    etag: etag(1, job.uid),
  };
}
