import type { Timestamp } from '@google-cloud/firestore';
import { z } from 'zod';

import { DEFAULTS } from '../defaults.js';

import type { JobParams } from './json.js';
import { JobStatus } from './status.js';

/**
 * The documents E11 stores, as zod schemas with inferred types. Every document carries `v` (its
 * schema version). Readers parse what they load (`parseDocument`) and trust the types inside.
 */

/** A Firestore Timestamp field. */
export const timestamp = z.custom<Timestamp>(
  (value) =>
    typeof value === 'object' && value !== null && typeof (value as Timestamp).toMillis === 'function',
  'expected a Firestore Timestamp',
);

const json: z.ZodType<unknown> = z.unknown();

/**
 * A job's params as stored: their JSON text (see {@link encodeParams}). Job documents registered by
 * earlier releases hold a Firestore map; both read the same.
 */
const storedParams = z.preprocess(
  (value, ctx) => {
    if (typeof value !== 'string') return value;
    try {
      return JSON.parse(value) as unknown;
    } catch {
      ctx.addIssue('expected the JSON text of a parameter object');
      return z.NEVER;
    }
  },
  z.record(z.string(), json),
);

export const jobStatusSchema = z.enum([
  JobStatus.Pending,
  JobStatus.InProgress,
  JobStatus.Completed,
  JobStatus.Errored,
  JobStatus.Cancelled,
]);

export const statusCountsSchema = z.object({
  pending: z.number().int(),
  inProgress: z.number().int(),
  completed: z.number().int(),
  errored: z.number().int(),
  cancelled: z.number().int(),
});

/** Retry and timeout settings given at kick-off; `null` means "the job class or the default decides". */
export const jobPolicySchema = z.object({
  maxAttempts: z.number().int().positive().nullable(),
  initialBackoffMs: z.number().nonnegative().nullable(),
  maxBackoffMs: z.number().nonnegative().nullable(),
  jobTimeoutMs: z.number().positive().nullable(),
  taskTimeoutMs: z.number().positive().nullable(),
  orchestrationTimeoutMs: z.number().positive().nullable(),
  heartbeatTimeoutMs: z.number().positive(),
});
/** A job's policy as stored on its orchestration (attempts, backoff, timeouts). */
export type JobPolicy = z.infer<typeof jobPolicySchema>;

/** A policy with nothing set at kick-off (the job class and the defaults decide), plus `overrides`. */
export function defaultJobPolicy(overrides: Partial<JobPolicy> = {}): JobPolicy {
  return {
    maxAttempts: null,
    initialBackoffMs: null,
    maxBackoffMs: null,
    jobTimeoutMs: null,
    taskTimeoutMs: null,
    orchestrationTimeoutMs: null,
    heartbeatTimeoutMs: DEFAULTS.heartbeatTimeoutMs,
    ...overrides,
  };
}

/** The orchestration document (`{prefix}orchestrations/{id}`), as parsed on every read. */
/**
 * Why an orchestration was ended before its jobs did: a caller's `cancel()`, its deadline, its
 * `maxFailures` (it ends `Errored`) or its `successPolicy` (it ends `Completed`).
 */
export const END_REASONS = ['cancelled', 'timeout', 'maxFailures', 'successPolicy'] as const;
/** One of {@link END_REASONS}. */
export type EndReason = (typeof END_REASONS)[number];

export const orchestrationDocSchema = z.object({
  v: z.literal(1),
  id: z.string(),
  jobName: z.string(),
  /** The Cloud Run job id the tasks run on. */
  service: z.string(),
  status: jobStatusSchema,
  total: z.number().int().nonnegative(),
  shardCount: z.number().int().positive(),
  tags: z.record(z.string(), z.string()),
  tenant: z.string().nullable(),
  topic: z.string(),
  mode: z.enum(['per-job', 'array']),
  policy: jobPolicySchema,
  idempotencyKey: z.string().nullable(),
  /** Run number: 1 at kick-off, +1 each time retryFailed reopens the orchestration. */
  epoch: z.number().int().positive(),
  /** Counts at the last summary (final at completion); live counts are in the counter shards. */
  counts: statusCountsSchema,
  /**
   * Task time at completion (the counter shards' `taskMillis` then), beside the final `counts`; live
   * task time is in the counter shards. Null until an end is recorded.
   */
  taskMillis: z.number().nonnegative().nullable().default(null),
  /** Params keys never to show in logs, events, errors or the dashboard. */
  sensitiveKeys: z.array(z.string()),
  /** All params chunks and counter shards are written (false only during kick-off). */
  registered: z.boolean(),
  /**
   * Parameter sets per params chunk: job `i` is entry `i % size` of chunk `floor(i / size)`, and has no
   * job document until its first change (store/unwritten-jobs.ts).
   */
  paramsChunkSize: z.number().int().positive(),
  /**
   * Random, set by the kick-off that created this document: when a create's outcome is unknown (a
   * retried or failed commit), it tells that kick-off whether the document it finds is its own.
   */
  registrationToken: z.string().nullable().default(null),
  cancelRequested: z.boolean(),
  /** A delayed start (`startAt` / `delay`): nothing launches before this time. */
  startAt: timestamp.nullable().default(null),
  /**
   * `maxParallel`: at most this many jobs launched and not ended. Null: no limit (every job is admitted
   * at kick-off).
   */
  maxParallel: z.number().int().positive().nullable().default(null),
  /**
   * The admission cursor of a `maxParallel` orchestration: jobs with an index below it may launch; the
   * others wait for a slot. It only moves forward, under a precondition on this document's update
   * time, so each job is admitted (and launched) by exactly one caller. Null without `maxParallel`.
   */
  admitted: z.number().int().nonnegative().nullable().default(null),
  /**
   * Jobs below the cursor that `retryFailed` reopened and that wait for a slot again, ascending: an
   * admission takes them before it moves the cursor. They are Pending, so the slots formula counts
   * them as held until they are taken. At most `MAX_READMIT`.
   */
  readmit: z.array(z.number().int().nonnegative()).default([]),
  /** When the cursor last moved (with `launchHeartbeatAt`, how the sweeper tells a lost admission). */
  admittedAt: timestamp.nullable().default(null),
  /** Random, set by the admission that last moved the cursor: it tells a lost answer's write its own. */
  admissionToken: z.string().nullable().default(null),
  /**
   * The concurrency key document (`concurrencyKeyId`) whose slots this orchestration's jobs take, with
   * the orchestrations sharing it: jobs are admitted through the key (the cursor `admitted` still
   * tells which). Null without `concurrency`.
   */
  concurrencyKey: z.string().nullable().default(null),
  /**
   * The executions-in-flight budget (`inFlightBudgetId`) of the region its jobs take slots of, shared
   * with every orchestration launched there by a service with `launch.maxExecutionsInFlight`: jobs are
   * admitted through it, round by round fairly between the keys and orchestrations waiting. Null without.
   */
  inFlightBudget: z.string().nullable().default(null),
  /** Paused: nothing new is launched for it (running jobs finish) until it is resumed. */
  paused: z.boolean().default(false),
  pausedAt: timestamp.nullable().default(null),
  /** Why the orchestration was cancelled: by a caller, or because its deadline passed. */
  cancelReason: z.enum(END_REASONS).nullable().default(null),
  /**
   * Fail fast: once more than this many jobs failed (`maxFailures`, or `maxFailureRatio` of the jobs),
   * the orchestration stops launching, cancels the rest and ends `Errored` (reason `maxFailures`).
   */
  maxFailures: z.number().int().nonnegative().nullable().default(null),
  /**
   * Success policy: once this many jobs succeeded, the rest are cancelled and the orchestration ends
   * `Completed` (reason `successPolicy`).
   */
  successNeeded: z.number().int().positive().nullable().default(null),
  /** An end was recorded (completion marker) but its event is not published yet; the sweeper retries. */
  eventPending: z.boolean().default(false),
  /**
   * While `eventPending`: when the sweeper should next try to publish (the end of the current lease, or
   * a backoff after a failed publish). The sweeper reads due orchestrations in this order, so ones that
   * keep failing go to the back and never starve the others. Null when no event is pending.
   */
  eventRetryAt: timestamp.nullable().default(null),
  /** Execution names of array-mode launches. */
  executions: z.array(z.string()),
  /**
   * The jobs each array-mode execution runs: indices `first` to `first + count - 1`. One launch of each
   * of those jobs (in epoch 1, where jobs without a document live), counted without a write per job.
   * Empty on orchestrations launched by earlier releases (each execution then counts for every job).
   */
  arrayLaunches: z
    .array(z.object({ executionName: z.string(), first: z.number().int(), count: z.number().int() }))
    .default([]),
  createdAt: timestamp,
  updatedAt: timestamp,
  launchedAt: timestamp.nullable(),
  /** Every launch request of the kick-off was answered (launched or failed). */
  launchCompletedAt: timestamp.nullable().default(null),
  /** Written every DEFAULTS.launchHeartbeatMs while the kick-off launches: a silent launcher has died. */
  launchHeartbeatAt: timestamp.nullable().default(null),
  completedAt: timestamp.nullable(),
  deadlineAt: timestamp.nullable(),
  /** Schedule that fired this orchestration, if any. */
  scheduleName: z.string().nullable().optional(),
  /**
   * CPU and memory of one task, recorded at kick-off: from the service's `resources` option, the Cloud
   * Run job's limits, or Cloud Run's defaults. Null on orchestrations created before cost was counted.
   */
  resources: z
    .object({
      cpu: z.number().positive(),
      memoryGiB: z.number().positive(),
      source: z.enum(['cloud-run', 'option', 'default']),
    })
    .nullable()
    .default(null),
  /** The prices its task time is costed at, recorded at kick-off (the service's `pricing`, or Cloud Run's list prices). */
  pricing: z
    .object({
      cpuPerVcpuSecond: z.number().nonnegative(),
      memoryPerGibSecond: z.number().nonnegative(),
      currency: z.string(),
    })
    .nullable()
    .default(null),
  /** The pipeline stage this orchestration runs (`{prefix}pipelines/{pipelineId}`): its end advances the pipeline. */
  pipeline: z
    .object({ pipelineId: z.string(), stage: z.number().int().nonnegative() })
    .nullable()
    .default(null),
  /**
   * The W3C traceparent of the kick-off's span: the tasks' attempts, the completion function and the
   * event's publish join its trace. Null when no OpenTelemetry SDK was registered at kick-off.
   */
  traceparent: z.string().nullable().default(null),
});
/** An orchestration document, as `orchestrationDocSchema` parses it. */
export type OrchestrationDoc = z.infer<typeof orchestrationDocSchema>;

export const jobErrorSchema = z.object({
  message: z.string(),
  code: z.string(),
  name: z.string().nullable(),
  stack: z.string().nullable(),
  jobName: z.string(),
  orchestrationId: z.string(),
  jobId: z.string(),
  attempt: z.number().int().nonnegative(),
  retryable: z.boolean(),
});
/** A job's error as stored: message, code, retryable, stack and context, bounded in size. */
export type JobErrorInfo = z.infer<typeof jobErrorSchema>;

export const attemptRecordSchema = z.object({
  attempt: z.number().int().positive(),
  /** The orchestration epoch the attempt ran in (retryFailed starts a new epoch and a new attempt count). */
  epoch: z.number().int().positive(),
  startedAt: timestamp,
  finishedAt: timestamp.nullable(),
  outcome: z
    .enum(['Completed', 'Errored', 'Retrying', 'Crashed', 'TimedOut', 'Interrupted', 'Cancelled'])
    .nullable(),
  error: z.object({ message: z.string(), code: z.string() }).nullable(),
  executionName: z.string().nullable(),
});
/** One attempt of a job in its history: when it ran, its claim and how it ended. */
export type AttemptRecord = z.infer<typeof attemptRecordSchema>;

export const claimSchema = z.object({
  id: z.string(),
  executionName: z.string().nullable(),
  taskIndex: z.number().int().nullable(),
  taskAttempt: z.number().int().nullable(),
});
/** The claim a task holds on its job (id, execution, task index and attempt); every write of the attempt is fenced on it. */
export type Claim = z.infer<typeof claimSchema>;

/**
 * A job document, written at the job's first change (claim, recorded launch, or an end without a
 * start); until then the job is read from its params chunk (store/unwritten-jobs.ts). A new job
 * document holds only what it needs: each stored field is an index entry to write. `id` and
 * `orchestrationId` come from the document's path (`…orchestrations/{orchestrationId}/jobs/{id}`,
 * see {@link parseJobDocument}); `v`, `epoch` and `attempt` are stored once they differ from their
 * defaults; the fields further down are written when they first get a value.
 */
export const jobDocSchema = z.object({
  v: z.literal(1).default(1),
  id: z.string(),
  orchestrationId: z.string(),
  jobName: z.string(),
  index: z.number().int().nonnegative(),
  shard: z.number().int().nonnegative(),
  epoch: z.number().int().positive().default(1),
  params: storedParams,
  status: jobStatusSchema,
  /**
   * A job of a `maxParallel` orchestration: its end frees a slot, so the completion function admits
   * and launches the next jobs (it reads nothing more for the jobs of other orchestrations).
   */
  limited: z.boolean().default(false),
  /** The concurrency key document whose slot the job holds once admitted (its end frees it). */
  concurrencyKey: z.string().nullable().default(null),
  /** The executions-in-flight budget whose slot the job holds once admitted (its end frees it). */
  inFlightBudget: z.string().nullable().default(null),
  /** Its orchestration has an end policy (maxFailures, successPolicy): its end is checked against it. */
  earlyEnd: z.boolean().default(false),
  /** Attempts started so far (0 until the first claim). */
  attempt: z.number().int().nonnegative().default(0),
  /**
   * Per-job launches in the current epoch (a relaunch, retryFailed, a per-job kick-off), recorded with
   * the execution; array-mode launches are counted from the orchestration's `arrayLaunches`. A launch
   * whose task dies before claiming the job counts like an attempt.
   */
  launches: z.number().int().nonnegative().default(0),
  /**
   * An admission (`maxParallel`) could not launch the job (Cloud Run answered "later" past its retry
   * budget) and handed it to the sweeper, which launches it without waiting for that admitter's silence.
   */
  launchDeferredAt: timestamp.nullable().default(null),
  /** Attempts allowed per epoch, recorded by the runner at claim (job class, kick-off and defaults merged). */
  maxAttempts: z.number().int().positive().nullable().default(null),
  attempts: z.array(attemptRecordSchema).default([]),
  /**
   * Attempt records dropped from `attempts` to keep the document within its budget (the first record
   * and the latest DEFAULTS.maxAttemptRecords − 1 are kept): `count` in all, and `inEpoch` of them from
   * `epoch`, the epoch of the last one dropped (so attempts per epoch stay exact).
   */
  attemptsDropped: z
    .object({
      count: z.number().int().nonnegative(),
      epoch: z.number().int().positive(),
      inEpoch: z.number().int().nonnegative(),
    })
    .default({ count: 0, epoch: 1, inEpoch: 0 }),
  result: json.nullable().default(null),
  error: jobErrorSchema.nullable().default(null),
  progress: z
    .object({ ratio: z.number(), message: z.string().nullable(), at: timestamp })
    .nullable()
    .default(null),
  checkpoint: json.nullable().default(null),
  claim: claimSchema.nullable().default(null),
  /** The Cloud Run execution launched for this job (per-job mode) or that ran it (array mode). */
  executionName: z.string().nullable().default(null),
  deadLettered: z.boolean().default(false),
  discarded: z.boolean().default(false),
  heartbeatAt: timestamp.nullable().default(null),
  startedAt: timestamp.nullable().default(null),
  finishedAt: timestamp.nullable().default(null),
  /**
   * The W3C traceparent of the attempt span that last ended (or handed back) the job, written with that
   * end: the completion function links its span to it. Null when the runner had no OpenTelemetry SDK.
   */
  traceparent: z.string().nullable().default(null),
  createdAt: timestamp,
  updatedAt: timestamp,
});
/** A job document (`…/jobs/{jobId}`), or a Pending job built from its params chunk, as readers see it. */
export type JobDoc = z.infer<typeof jobDocSchema>;
/**
 * A job document as its first write starts it: what its path and the defaults give is left out, and
 * the params are their JSON text (the bench's naive baseline writes this same shape).
 */
export type NewJobDoc = Pick<
  z.input<typeof jobDocSchema>,
  | 'jobName'
  | 'index'
  | 'shard'
  | 'status'
  | 'createdAt'
  | 'updatedAt'
  | 'limited'
  | 'concurrencyKey'
  | 'inFlightBudget'
  | 'earlyEnd'
> & { params: string };

/**
 * A job's params as registration stores them: one JSON string rather than a Firestore map. Firestore
 * indexes every field of a map (a map of many keys or a long array can pass the 40,000 index entries
 * a document may have, and each entry is write work), while nothing queries jobs by their params.
 */
export function encodeParams(params: JobParams): string {
  return JSON.stringify(params);
}

/** The params of jobs `first` to `first + params.length - 1`, as their JSON text (see {@link encodeParams}). */
export const paramsChunkDocSchema = z.object({
  v: z.literal(1),
  first: z.number().int().nonnegative(),
  params: z.array(z.string()),
});
export type ParamsChunkDoc = z.infer<typeof paramsChunkDocSchema>;

/** The completion marker of one orchestration end (`…/completion/{epoch}`): the one event's id and publish state. */
export const completionDocSchema = z.object({
  v: z.literal(1),
  epoch: z.number().int().positive(),
  eventId: z.string(),
  status: jobStatusSchema,
  counts: statusCountsSchema,
  /**
   * The orchestration's task time when it ended (its counter shards' `taskMillis`), carried by the
   * event. Null on markers written before task time was counted.
   */
  taskMillis: z.number().nonnegative().nullable().default(null),
  topic: z.string(),
  published: z.boolean(),
  publishAttempts: z.number().int().nonnegative(),
  messageId: z.string().nullable(),
  lastPublishError: z.string().nullable(),
  /** Whoever publishes holds this lease, so concurrent retries never publish twice. */
  leaseUntil: timestamp.nullable(),
  /**
   * Who holds the lease: random per acquisition. Lease writes are fenced on it, so a publisher that
   * outlived its lease never releases (or overwrites) the lease of the one that took over.
   */
  leaseHolder: z.string().nullable().default(null),
  createdAt: timestamp,
  publishedAt: timestamp.nullable(),
});
/** A completion marker, as `completionDocSchema` parses it. */
export type CompletionDoc = z.infer<typeof completionDocSchema>;

/** The sweeper's state: the active orchestration its last pass stopped after (null: it visited them all). */
export const sweeperStateDocSchema = z.object({
  v: z.literal(1),
  activeCursor: z.string().nullable(),
  updatedAt: timestamp,
});
export type SweeperStateDoc = z.infer<typeof sweeperStateDocSchema>;
