import { DEFAULTS, E11Error, ErrorCode } from '@e11/core';
import { z } from 'zod';

const id = z
  .string()
  .trim()
  .min(1)
  .max(200)
  .regex(/^[^/]+$/, 'must not contain "/"');
const index = z.coerce.number().int().nonnegative();
const positiveMs = z.coerce.number().int().positive();

const taskEnvSchema = z
  .object({
    JOB_NAME: z.string().trim().min(1),
    ORCHESTRATION_ID: id,
    JOB_ID: id.optional(),
    CLOUD_RUN_JOB: z.string().optional(),
    CLOUD_RUN_EXECUTION: z.string().optional(),
    CLOUD_RUN_TASK_INDEX: index.optional(),
    CLOUD_RUN_TASK_ATTEMPT: index.optional(),
    CLOUD_RUN_TASK_COUNT: index.optional(),
    E11_TASK_INDEX_OFFSET: index.optional(),
    E11_JOB_INDEX: index.optional(),
    E11_COLLECTION_PREFIX: z.string().optional(),
    E11_FIRESTORE_DATABASE: z.string().optional(),
    E11_HEARTBEAT_INTERVAL_MS: positiveMs.optional(),
    E11_TERMINATION_GRACE_MS: positiveMs.optional(),
  })
  .refine((env) => env.JOB_ID !== undefined || env.CLOUD_RUN_TASK_INDEX !== undefined, {
    message: 'JOB_ID is missing (and CLOUD_RUN_TASK_INDEX too, so array mode cannot find the job either)',
    path: ['JOB_ID'],
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
}

/**
 * Reads the task contract from the environment: JOB_NAME, ORCHESTRATION_ID and JOB_ID (or
 * CLOUD_RUN_TASK_INDEX in array mode), plus Cloud Run's own variables. Throws E11_INVALID_TASK_ENV
 * naming the variable when something is missing or malformed.
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
      `Task environment: ${variable} ${problem}. A task needs JOB_NAME, ORCHESTRATION_ID and JOB_ID (set by kickOffJob as container overrides).`,
      { context: { path: variable } },
    );
  }
  const e = parsed.data;
  return {
    jobName: e.JOB_NAME,
    orchestrationId: e.ORCHESTRATION_ID,
    jobId: e.JOB_ID,
    jobIndex:
      e.JOB_ID === undefined ? (e.CLOUD_RUN_TASK_INDEX ?? 0) + (e.E11_TASK_INDEX_OFFSET ?? 0) : undefined,
    jobIndexHint: e.JOB_ID === undefined ? undefined : e.E11_JOB_INDEX,
    executionName: e.CLOUD_RUN_EXECUTION ?? null,
    taskIndex: e.CLOUD_RUN_TASK_INDEX ?? null,
    taskAttempt: e.CLOUD_RUN_TASK_ATTEMPT ?? null,
    collectionPrefix: e.E11_COLLECTION_PREFIX ?? DEFAULTS.collectionPrefix,
    databaseId: e.E11_FIRESTORE_DATABASE,
    heartbeatIntervalMs: e.E11_HEARTBEAT_INTERVAL_MS ?? DEFAULTS.heartbeatIntervalMs,
    terminationGraceMs: e.E11_TERMINATION_GRACE_MS ?? DEFAULTS.terminationGraceMs,
  };
}
