// The task environment contract, in one place: the names a launcher sets, the names Cloud Run sets,
// how a launcher builds the env (buildTaskEnv, cloudRunTaskEnv) and how the runner reads it
// (parseTaskEnv). No other file spells these names.
import { z } from 'zod';

import { DEFAULTS } from '../defaults.js';
import { E11Error, ErrorCode } from '../errors.js';
import type { TraceCarrier } from '../telemetry/trace-context.js';

/** The variables E11 sets on a task (as RunJob container overrides) or on a job's deployed env. */
export const TaskEnvName = {
  /** The `@JobName` of the class to run. */
  jobName: 'JOB_NAME',
  orchestrationId: 'ORCHESTRATION_ID',
  /** Per-job mode: the job to run. Absent in array mode. */
  jobId: 'JOB_ID',
  /** Per-job mode: the job's index, which saves the task a lookup of its params. */
  jobIndex: 'E11_JOB_INDEX',
  /** Array mode: the index of the execution's first job (task i runs job offset + i). */
  taskIndexOffset: 'E11_TASK_INDEX_OFFSET',
  /**
   * Array mode, a relaunch of scattered jobs (retryFailed): the jobs of the execution's tasks in task
   * order, as ranges (`3,17,40-45`): task i runs the i-th. Takes precedence over the offset.
   */
  taskJobIndexes: 'E11_TASK_JOB_INDEXES',
  /** The collection prefix, when not {@link DEFAULTS.collectionPrefix}. */
  collectionPrefix: 'E11_COLLECTION_PREFIX',
  /** The Firestore database, when not {@link DEFAULTS.firestoreDatabase}. */
  firestoreDatabase: 'E11_FIRESTORE_DATABASE',
  /** The heartbeat interval, when not {@link DEFAULTS.heartbeatIntervalMs}. */
  heartbeatIntervalMs: 'E11_HEARTBEAT_INTERVAL_MS',
  /** How long a job may take to stop after its abort, when not {@link DEFAULTS.terminationGraceMs}. */
  terminationGraceMs: 'E11_TERMINATION_GRACE_MS',
  /**
   * The W3C trace context of the launch that started the task, as Cloud Run passes it to a request:
   * the runner's attempt span is its child. Set only when the launcher's span is a valid one.
   */
  traceparent: 'TRACEPARENT',
  /** The W3C `tracestate` that goes with {@link TaskEnvName.traceparent}, when there is one. */
  tracestate: 'TRACESTATE',
} as const;

/** The variables Cloud Run sets in every task (the Cloud Run emulator and the local launcher too). */
export const CloudRunEnvName = {
  job: 'CLOUD_RUN_JOB',
  /** The short execution id (`{job}-{5 letters}`). */
  execution: 'CLOUD_RUN_EXECUTION',
  taskIndex: 'CLOUD_RUN_TASK_INDEX',
  taskAttempt: 'CLOUD_RUN_TASK_ATTEMPT',
  taskCount: 'CLOUD_RUN_TASK_COUNT',
} as const;

/** What a launcher knows about the task it starts; {@link buildTaskEnv} turns it into env. */
export interface TaskEnvInput {
  jobName: string;
  orchestrationId: string;
  /** Per-job mode: the job and its index. */
  job?: { id: string; index: number };
  /** Array mode: the index of the execution's first job (omitted from the env when 0). */
  taskIndexOffset?: number;
  /** Array mode: the jobs of the tasks, in task order (a relaunch of scattered jobs). */
  taskJobIndexes?: readonly number[];
  /** Omitted from the env when it is the default. */
  collectionPrefix?: string;
  /** Omitted from the env when it is the default. */
  databaseId?: string;
  heartbeatIntervalMs?: number;
  terminationGraceMs?: number;
  /** The trace context of the launch span (see {@link TaskEnvName.traceparent}); null or omitted: none. */
  trace?: TraceCarrier | null;
}

/**
 * The env a task is launched with (RunJob container overrides): JOB_NAME, ORCHESTRATION_ID, then
 * JOB_ID and E11_JOB_INDEX (per-job mode) or E11_TASK_INDEX_OFFSET (array mode, when not 0), and the
 * collection prefix and database only when they differ from the defaults. Params never travel in env.
 */
export function buildTaskEnv(input: TaskEnvInput): Record<string, string> {
  const env: Record<string, string> = {
    [TaskEnvName.jobName]: input.jobName,
    [TaskEnvName.orchestrationId]: input.orchestrationId,
  };
  if (input.collectionPrefix !== undefined && input.collectionPrefix !== DEFAULTS.collectionPrefix)
    env[TaskEnvName.collectionPrefix] = input.collectionPrefix;
  // The task's runner opens the database the launcher's store uses (the job's deployed env may name it too).
  if (input.databaseId !== undefined && input.databaseId !== DEFAULTS.firestoreDatabase)
    env[TaskEnvName.firestoreDatabase] = input.databaseId;
  if (input.job) {
    env[TaskEnvName.jobId] = input.job.id;
    env[TaskEnvName.jobIndex] = String(input.job.index);
  } else if (input.taskJobIndexes !== undefined) {
    env[TaskEnvName.taskJobIndexes] = encodeIndexes(input.taskJobIndexes);
  } else if (input.taskIndexOffset !== undefined && input.taskIndexOffset > 0) {
    env[TaskEnvName.taskIndexOffset] = String(input.taskIndexOffset);
  }
  if (input.heartbeatIntervalMs !== undefined)
    env[TaskEnvName.heartbeatIntervalMs] = String(input.heartbeatIntervalMs);
  if (input.terminationGraceMs !== undefined)
    env[TaskEnvName.terminationGraceMs] = String(input.terminationGraceMs);
  Object.assign(env, traceEnv(input.trace));
  return env;
}

/** TRACEPARENT (and TRACESTATE when present) for a trace context; empty for none. */
export function traceEnv(trace: TraceCarrier | null | undefined): Record<string, string> {
  if (!trace) return {};
  return {
    [TaskEnvName.traceparent]: trace.traceparent,
    ...(trace.tracestate ? { [TaskEnvName.tracestate]: trace.tracestate } : {}),
  };
}

/** One task attempt as Cloud Run describes it to the container. */
export interface CloudRunTask {
  /** The Cloud Run job (service) name. */
  job: string;
  /** The short execution id. */
  execution: string;
  taskIndex: number;
  taskAttempt: number;
  taskCount: number;
}

/** The variables Cloud Run sets in a task; what the emulator and the local launchers set the same way. */
export function cloudRunTaskEnv(task: CloudRunTask): Record<string, string> {
  return {
    [CloudRunEnvName.job]: task.job,
    [CloudRunEnvName.execution]: task.execution,
    [CloudRunEnvName.taskIndex]: String(task.taskIndex),
    [CloudRunEnvName.taskAttempt]: String(task.taskAttempt),
    [CloudRunEnvName.taskCount]: String(task.taskCount),
  };
}

const id = z
  .string()
  .trim()
  .min(1)
  .max(200)
  .regex(/^[^/]+$/, 'must not contain "/"');
const index = z.coerce.number().int().nonnegative();
const positiveMs = z.coerce.number().int().positive();

/** The task env as the runner reads it (values are strings; numbers are coerced). */
export const taskEnvSchema = z
  .object({
    [TaskEnvName.jobName]: z.string().trim().min(1),
    [TaskEnvName.orchestrationId]: id,
    [TaskEnvName.jobId]: id.optional(),
    [CloudRunEnvName.job]: z.string().optional(),
    [CloudRunEnvName.execution]: z.string().optional(),
    [CloudRunEnvName.taskIndex]: index.optional(),
    [CloudRunEnvName.taskAttempt]: index.optional(),
    [CloudRunEnvName.taskCount]: index.optional(),
    [TaskEnvName.taskIndexOffset]: index.optional(),
    [TaskEnvName.taskJobIndexes]: z
      .string()
      .regex(/^\d+(-\d+)?(,\d+(-\d+)?)*$/, 'must be job indexes and ranges, like 3,17,40-45')
      .optional(),
    [TaskEnvName.jobIndex]: index.optional(),
    [TaskEnvName.collectionPrefix]: z.string().optional(),
    [TaskEnvName.firestoreDatabase]: z.string().optional(),
    [TaskEnvName.heartbeatIntervalMs]: positiveMs.optional(),
    [TaskEnvName.terminationGraceMs]: positiveMs.optional(),
    // Free text here: a malformed trace context is ignored by the runner, never a reason to refuse the task.
    [TaskEnvName.traceparent]: z.string().optional(),
    [TaskEnvName.tracestate]: z.string().optional(),
  })
  .refine((env) => env[TaskEnvName.jobId] !== undefined || env[CloudRunEnvName.taskIndex] !== undefined, {
    message: `${TaskEnvName.jobId} is missing (and ${CloudRunEnvName.taskIndex} too, so array mode cannot find the job either)`,
    path: [TaskEnvName.jobId],
  });

/** The task environment, parsed. */
export interface TaskEnv {
  jobName: string;
  orchestrationId: string;
  /** The job id (per-job mode), or undefined in array mode. */
  jobId: string | undefined;
  /** The job's index in array mode: CLOUD_RUN_TASK_INDEX + E11_TASK_INDEX_OFFSET. */
  jobIndex: number | undefined;
  /** Per-job mode: the job's index as the launcher passed it (E11_JOB_INDEX), which saves searching for it. */
  jobIndexHint: number | undefined;
  executionName: string | null;
  taskIndex: number | null;
  taskAttempt: number | null;
  collectionPrefix: string;
  /** The Firestore database of the orchestration (E11_FIRESTORE_DATABASE), or undefined for the client's default. */
  databaseId: string | undefined;
  heartbeatIntervalMs: number;
  terminationGraceMs: number;
  /** The launch's W3C trace context (TRACEPARENT, TRACESTATE), or null when the launch had none. */
  trace: TraceCarrier | null;
}

/**
 * Reads the task contract from the environment: JOB_NAME, ORCHESTRATION_ID and JOB_ID (or
 * CLOUD_RUN_TASK_INDEX in array mode), plus Cloud Run's own variables. Empty values count as unset.
 * Throws E11_INVALID_TASK_ENV naming the variable when something is missing or malformed.
 */
export function parseTaskEnv(env: Readonly<Record<string, string | undefined>>): TaskEnv {
  const present = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ''),
  );
  const parsed = taskEnvSchema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const variable = String(issue?.path[0] ?? 'environment');
    const problem =
      issue?.code === 'invalid_type' && present[variable] === undefined
        ? 'is not set'
        : (issue?.message ?? 'is invalid');
    throw new E11Error(
      ErrorCode.InvalidTaskEnv,
      `Task environment: ${variable} ${problem}. A task needs ${TaskEnvName.jobName}, ${TaskEnvName.orchestrationId} and ${TaskEnvName.jobId} (set by kickOffJob as container overrides).`,
      { context: { path: variable } },
    );
  }
  const e = parsed.data;
  const jobId = e[TaskEnvName.jobId];
  const taskIndex = e[CloudRunEnvName.taskIndex];
  const mapped = e[TaskEnvName.taskJobIndexes];
  return {
    jobName: e[TaskEnvName.jobName],
    orchestrationId: e[TaskEnvName.orchestrationId],
    jobId,
    jobIndex:
      jobId !== undefined
        ? undefined
        : mapped !== undefined
          ? mappedJobIndex(mapped, taskIndex ?? 0)
          : (taskIndex ?? 0) + (e[TaskEnvName.taskIndexOffset] ?? 0),
    jobIndexHint: jobId === undefined ? undefined : e[TaskEnvName.jobIndex],
    executionName: e[CloudRunEnvName.execution] ?? null,
    taskIndex: taskIndex ?? null,
    taskAttempt: e[CloudRunEnvName.taskAttempt] ?? null,
    collectionPrefix: e[TaskEnvName.collectionPrefix] ?? DEFAULTS.collectionPrefix,
    databaseId: e[TaskEnvName.firestoreDatabase],
    heartbeatIntervalMs: e[TaskEnvName.heartbeatIntervalMs] ?? DEFAULTS.heartbeatIntervalMs,
    terminationGraceMs: e[TaskEnvName.terminationGraceMs] ?? DEFAULTS.terminationGraceMs,
    trace: traceOf(e[TaskEnvName.traceparent], e[TaskEnvName.tracestate]),
  };
}

function traceOf(traceparent: string | undefined, tracestate: string | undefined): TraceCarrier | null {
  if (traceparent === undefined) return null;
  return tracestate === undefined ? { traceparent } : { traceparent, tracestate };
}

/** `E11_TASK_JOB_INDEXES` for `indexes` (in task order): consecutive runs as ranges, `3,17,40-45`. */
export function encodeIndexes(indexes: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < indexes.length;) {
    const first = indexes[i] as number;
    let last = first;
    while (indexes[i + 1] === last + 1) {
      last++;
      i++;
    }
    parts.push(last === first ? String(first) : `${first}-${last}`);
    i++;
  }
  return parts.join(',');
}

/** The job index of task `taskIndex` in an `E11_TASK_JOB_INDEXES` list, without expanding it. */
function mappedJobIndex(list: string, taskIndex: number): number {
  let skipped = 0;
  for (const part of list.split(',')) {
    const [first, last = first] = part.split('-').map(Number) as [number, number?];
    const size = last - first + 1;
    if (size < 1) break;
    if (taskIndex < skipped + size) return first + (taskIndex - skipped);
    skipped += size;
  }
  throw new E11Error(
    ErrorCode.InvalidTaskEnv,
    `Task environment: ${CloudRunEnvName.taskIndex} ${taskIndex} has no job in ${TaskEnvName.taskJobIndexes} (${skipped} listed).`,
    { context: { path: TaskEnvName.taskJobIndexes } },
  );
}
