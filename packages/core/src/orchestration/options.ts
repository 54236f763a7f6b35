import type { Firestore } from '@google-cloud/firestore';
import type { PubSub } from '@google-cloud/pubsub';
import { type Clock } from '../clock.js';
import { type EventPublisher } from '../completion/event-publisher.js';
import type { ResourceLimits } from '../cost/resources.js';
import { DEFAULTS } from '../defaults.js';
import { type Duration, toMs } from '../duration.js';
import { E11Error, ErrorCode } from '../errors.js';
import type { TaskLauncher } from '../launch/task-launcher.js';
import { type Logger } from '../logging.js';
import { type JobPolicy } from '../model/documents.js';
import type { PipelineDefinition } from '../pipelines/definition.js';
import { type ServiceNameMapping } from '../validate/job-name.js';
import { validateTags } from '../validate/tags.js';

import type { AnyJobHandle, JobClassReference } from './job-handle.js';

/** How an `OrchestrationService` (sdk) or an `Engine` is built. Every field is optional. */
export interface OrchestrationServiceOptions {
  /** Google Cloud project. @default GOOGLE_CLOUD_PROJECT, or detected by the clients */
  projectId?: string;
  /** @default DEFAULTS.collectionPrefix ('e11_'), or E11_COLLECTION_PREFIX */
  collectionPrefix?: string;
  /**
   * E11's Firestore database: the default client's, and, with `firestore`, the database that client
   * must use (anything else is E11_INVALID_OPTIONS). Launched tasks get it as E11_FIRESTORE_DATABASE.
   * @default E11_FIRESTORE_DATABASE, or DEFAULTS.firestoreDatabase ('(default)')
   */
  databaseId?: string;
  /** A Firestore client; by default one is created (emulator-aware through FIRESTORE_EMULATOR_HOST). */
  firestore?: Firestore;
  /** A Pub/Sub client for cancel() and sweep(), which end orchestrations themselves; created lazily by default. */
  pubsub?: PubSub;
  /** Publishes JobCompletedEvents for cancel() and sweep(); by default one over `pubsub`. */
  publisher?: EventPublisher;
  /** Starts task executions; by default a {@link CloudRunTaskService} for `region` / `cloudRunEndpoint`. */
  launcher?: TaskLauncher;
  /**
   * Cloud Run region of the default launcher (and of the launch budgets the service shares). Required
   * unless something names it: @default E11_REGION, CLOUD_RUN_REGION, CLOUDSDK_RUN_REGION,
   * CLOUDSDK_COMPUTE_REGION, or the active gcloud configuration's `run/region` / `compute/region`;
   * without any, the constructor throws `E11_INVALID_OPTIONS` (there is no default region).
   */
  region?: string;
  /** `host:port` of the local Cloud Run emulator for the default launcher. @default E11_CLOUD_RUN_EMULATOR_HOST */
  cloudRunEndpoint?: string;
  /** Job name → Cloud Run job id. @default lower-case, `_` → `-` */
  serviceName?: ServiceNameMapping;
  /** Topic of JobCompletedEvents unless a kick-off names one. @default DEFAULTS.topic, or E11_TOPIC */
  defaultTopic?: string;
  /** Launch pacing and retries (Cloud Run's run-job quota is per minute). */
  launch?: {
    /** @default DEFAULTS.launchConcurrency */
    concurrency?: number;
    /** @default DEFAULTS.launchRatePerMinute */
    ratePerMinute?: number;
    /**
     * Requests the region's shared budget lets go at once after a quiet spell (its bucket size): at
     * `ratePerMinute`, no minute sees more than `ratePerMinute + burst` requests. @default one second's
     * worth, `ratePerMinute / 60` (at least 1)
     */
    burst?: number;
    /**
     * Attempts per launch on transient errors other than quota and unavailability (INTERNAL, UNKNOWN,
     * DEADLINE_EXCEEDED). @default DEFAULTS.launchMaxAttempts
     */
    maxAttempts?: number;
    /**
     * How long a launch keeps retrying 429 (quota) and 503 (unavailable) answers before it leaves the job
     * Pending for the sweeper; such answers never end a job Errored. @default DEFAULTS.launchRetryBudgetMs
     */
    retryBudget?: Duration;
    /** @default DEFAULTS.launchInitialBackoffMs */
    initialBackoff?: Duration;
    /** @default DEFAULTS.launchMaxBackoffMs */
    maxBackoff?: Duration;
    /**
     * Jobs launched and not ended at most in the project and region, over every orchestration this
     * service (and any other setting it) kicks off, in every process and tenant: one budget in Firestore
     * admits them as slots free, fairly between the concurrency keys and orchestrations waiting (the one
     * holding fewest slots goes first). Per-job mode launches one execution per job, so set it below
     * Cloud Run's running-executions cap (1,000 per project and region by default); array mode counts
     * each task. Jobs waiting for it are `Pending` with `waiting: 'quota'`. @default none: Cloud Run's
     * own cap answers 429, which the launch treats as "later"
     */
    maxExecutionsInFlight?: number;
  };
  /** Ceiling on parameter sets per kick-off. @default DEFAULTS.maxJobsPerOrchestration */
  maxJobsPerOrchestration?: number;
  /** @default a Cloud Logging-shaped pino logger at E11_LOG_LEVEL or 'warn' */
  logger?: Logger;
  /** @default the system clock */
  clock?: Clock;
  /**
   * Scopes the service to one tenant (customer): its kick-offs are stamped with it (also as the
   * `tenant` tag of their events), and every read — status, jobs, results, watch, SSE, history, metrics,
   * dead letters, cancel, retry — sees only that tenant's orchestrations; others answer
   * `E11_UNKNOWN_ORCHESTRATION`, as if they did not exist. See also `forTenant()`.
   * @default null (unscoped)
   */
  tenant?: string | null;
  /**
   * The job classes (imported from the job's package) or job handles (`defineJob`) this backend kicks
   * off: a kick-off by name then stores the class's declared `sensitiveKeys` with the orchestration, as
   * `kickOffJob(JobClass, …)` does, and checks the params with the class's or handle's `schema`
   * (E11_INVALID_PARAMS). Throws E11_INVALID_OPTIONS for a class without `@JobName`. @default []
   */
  jobs?: readonly (JobClassReference | AnyJobHandle)[];
  /**
   * CPU and memory of one task, per job name, for costing (`OrchestrationInfo.cost`, the event's
   * `cost`, estimates): `cpu` as vCPUs (`1`, `0.5`) or millicores (`'1000m'`), `memory` as `'512Mi'`,
   * `'2Gi'`. Recorded on each orchestration at kick-off. A job not named here is costed with its Cloud
   * Run job's own limits (read once per job with `getJob`), or Cloud Run's defaults (1 vCPU, 512 MiB)
   * when it sets none or cannot be read. @default {}
   */
  resources?: Readonly<Record<string, ResourceLimits>>;
  /**
   * Prices of task time, recorded on each orchestration at kick-off. The free tier is not subtracted.
   * @default Cloud Run's list prices for jobs in the region's tier (`CLOUD_RUN_JOB_PRICES`), in USD
   */
  pricing?: { cpuPerVcpuSecond: number; memoryPerGibSecond: number; currency?: string };
  /**
   * The pipelines this service starts and advances (each from `definePipeline`). Register the same
   * definitions in the functions deployment (E11_PIPELINES_MODULE), where stages advance.
   * @default the module named by E11_PIPELINES_MODULE, or none
   */
  pipelines?: readonly PipelineDefinition[];
}

const TENANT = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** Validates a tenant id: 1-128 letters, digits, `_`, `.`, `-`, starting with a letter or digit. */
export function validateTenant(tenant: unknown): string | null {
  if (tenant === undefined || tenant === null) return null;
  if (typeof tenant !== 'string' || !TENANT.test(tenant)) {
    invalid('tenant', `must be 1-128 letters, digits, '_', '.' or '-', got ${JSON.stringify(tenant)}.`);
  }
  return tenant;
}

/** Options of one kick-off. Every field is optional. */
export interface KickOffOptions {
  /** Customer identifiers carried to the JobCompletedEvent (body and Pub/Sub attributes). */
  tags?: Record<string, string>;
  /** Topic for this orchestration's JobCompletedEvent. @default the service's defaultTopic */
  topic?: string;
  /** The same key always maps to the same orchestration: a repeated or concurrent call launches nothing twice. */
  idempotencyKey?: string;
  /** `per-job`: one execution per parameter set (the default). `array`: one execution with taskCount = N. @default 'per-job' */
  mode?: 'per-job' | 'array';
  /** Launch requests in flight at once for this kick-off. @default the service's launch.concurrency */
  launchConcurrency?: number;
  /** Per-job time limit enforced by the runner (its AbortSignal fires). @default the job class's, or none */
  timeout?: Duration;
  /** Cloud Run task timeout override (the container is stopped after it). @default the Cloud Run job's own */
  taskTimeout?: Duration;
  /** Whole-orchestration deadline: unfinished jobs are cancelled after it. @default none */
  orchestrationTimeout?: Duration;
  /** Retries of a failed job in its task (transient errors) and relaunches of crashed tasks. */
  retry?: {
    /** Attempts per job, first run included. @default the job class's, or DEFAULTS.maxAttempts */
    maxAttempts?: number;
    initialBackoff?: Duration;
    maxBackoff?: Duration;
  };
  /** Shorthand for `retry.maxAttempts = taskRetries + 1`. */
  taskRetries?: number;
  /** A running task whose heartbeat is older than this is treated as crashed. @default DEFAULTS.heartbeatTimeoutMs */
  heartbeatTimeout?: Duration;
  /** Params keys whose values are never logged or shown. */
  sensitiveKeys?: string[];
  /** Resolve as soon as the jobs are registered; launches continue in the background. @default false */
  background?: boolean;
  /**
   * Launch no job before this time (a Date or an ISO 8601 string; at most 30 days ahead): the kick-off
   * registers the jobs and returns (they stay `Pending`, `launch: null`); this backend launches them
   * when due (`launched` settles then; with null if the service closed first, or the orchestration was
   * cancelled or paused by then), else the sweeper does. The orchestration's timeout counts from it. A
   * time in the past starts at once.
   */
  startAt?: Date | string;
  /** Launch no job before this long from now (as `startAt`). */
  delay?: Duration;
  /**
   * At most this many jobs of the orchestration launched and not yet ended, in both modes: the first
   * N launch at once, and each job's end admits the next one (the completion function admits and
   * launches it, the sweeper if that is lost), without the backend that kicked off. Array mode
   * launches each admitted range of consecutive indices as one execution, so its tasks never exceed
   * N either. @default no limit
   */
  maxParallel?: number;
  /**
   * A limit shared by every orchestration (of this tenant) that names `key` — a database, an external
   * API, a customer: at most `limit` of their jobs launched and not ended together, the slots handed
   * round robin to the orchestrations waiting for them, so none starves. The latest kick-off's `limit`
   * is the key's. Combines with `maxParallel`. @default none
   */
  concurrency?: { key: string; limit: number };
  /**
   * Fail fast: once more than this many jobs failed for good, the orchestration stops launching,
   * cancels its unfinished jobs and ends `Errored` with `reason: 'maxFailures'` (0: at the first
   * failure). Checked by the completion function on each job's end, and by the sweeper. @default none
   */
  maxFailures?: number;
  /** The same as a share of the jobs (0 to 1): more than `floor(ratio × jobs)` failures end it. @default none */
  maxFailureRatio?: number;
  /**
   * End early on success: once this many (`succeeded`) or this share (`ratio`, 0 to 1, rounded up) of
   * the jobs succeeded, the unfinished ones are cancelled and the orchestration ends `Completed` with
   * `reason: 'successPolicy'`. @default none: every job runs
   */
  successPolicy?: { succeeded: number } | { ratio: number };
  /**
   * Validate and estimate only: the kick-off is checked exactly as a real one (names, options, params
   * and their schema, the topic) and nothing is written or launched; `kickOffJob` returns a
   * {@link KickOffEstimate} instead of ids. @default false
   */
  dryRun?: boolean;
  /**
   * Stops launching when it aborts (the caller gave up or is shutting down): jobs not launched yet stay
   * Pending, and the sweeper launches them once this kick-off has been silent for its pendingTimeoutMs.
   */
  signal?: AbortSignal;
}

/** Kick-off options after validation and defaults. */
export interface CompiledKickOffOptions {
  tags: Record<string, string>;
  topic: string;
  idempotencyKey: string | null;
  mode: 'per-job' | 'array';
  launchConcurrency: number;
  policy: JobPolicy;
  sensitiveKeys: string[];
  background: boolean;
  signal: AbortSignal | null;
  /** When to launch: an absolute time, a delay from the kick-off, or null for at once. */
  start: { atMs: number } | { delayMs: number } | null;
  /** Jobs launched and not ended at most; null: no limit. */
  maxParallel: number | null;
  /** The concurrency key and its limit; null: none. */
  concurrency: { key: string; limit: number } | null;
  /** Failures allowed (count and share); null: no limit. */
  maxFailures: number | null;
  maxFailureRatio: number | null;
  /** Successes that end the orchestration; null: every job runs. */
  successPolicy: { succeeded: number } | { ratio: number } | null;
}

const TOPIC = /^[A-Za-z][A-Za-z0-9\-_.~+%]{2,254}$/;

function invalid(path: string, message: string): never {
  throw new E11Error(ErrorCode.InvalidOptions, `${path}: ${message}`, { context: { path } });
}

function positiveInt(value: unknown, path: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    invalid(path, `must be an integer from 1 to ${max}, got ${String(value)}.`);
  }
  return value;
}

/** Validates a Pub/Sub topic id. */
export function validateTopic(topic: unknown, path = 'topic'): string {
  if (typeof topic !== 'string' || !TOPIC.test(topic) || topic.toLowerCase().startsWith('goog')) {
    invalid(
      path,
      `must be a Pub/Sub topic id (3-255 letters, digits, - _ . ~ + %, starting with a letter), got ${JSON.stringify(topic)}.`,
    );
  }
  return topic;
}

/** Validates kick-off options and fills defaults. Pure; throws `E11_INVALID_OPTIONS` naming the field. */
export function compileKickOffOptions(
  options: KickOffOptions | undefined,
  defaults: { topic: string; launchConcurrency: number },
): CompiledKickOffOptions {
  const o = options ?? {};
  if (typeof o !== 'object') invalid('options', 'must be an object.');
  const mode = o.mode ?? 'per-job';
  if (mode !== 'per-job' && mode !== 'array')
    invalid('mode', `must be 'per-job' or 'array', got ${JSON.stringify(mode)}.`);
  if (
    o.idempotencyKey !== undefined &&
    (typeof o.idempotencyKey !== 'string' || o.idempotencyKey.length === 0 || o.idempotencyKey.length > 500)
  ) {
    invalid('idempotencyKey', 'must be a non-empty string of at most 500 characters.');
  }
  if (o.taskRetries !== undefined && o.retry?.maxAttempts !== undefined) {
    invalid('taskRetries', 'give either taskRetries or retry.maxAttempts, not both.');
  }
  const maxAttempts =
    o.retry?.maxAttempts !== undefined
      ? positiveInt(o.retry.maxAttempts, 'retry.maxAttempts', 100)
      : o.taskRetries !== undefined
        ? positiveInt(o.taskRetries + 1, 'taskRetries', 100)
        : null;
  const sensitiveKeys = o.sensitiveKeys ?? [];
  if (!Array.isArray(sensitiveKeys) || sensitiveKeys.some((key) => typeof key !== 'string' || key === '')) {
    invalid('sensitiveKeys', 'must be an array of non-empty strings.');
  }
  const optionalMs = (value: Duration | undefined, path: string) => {
    if (value === undefined) return null;
    const ms = toMs(value, path);
    if (ms <= 0) invalid(path, 'must be greater than zero.');
    return ms;
  };
  if (o.dryRun !== undefined && typeof o.dryRun !== 'boolean') invalid('dryRun', 'must be a boolean.');
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal))
    invalid('signal', 'must be an AbortSignal.');
  const start = compileStart(o.startAt, o.delay);
  const taskTimeoutMs = optionalMs(o.taskTimeout, 'taskTimeout');
  if (taskTimeoutMs !== null && taskTimeoutMs > 7 * 86_400_000)
    invalid('taskTimeout', 'Cloud Run allows at most 7 days.');
  return {
    tags: validateTags(o.tags),
    topic: validateTopic(o.topic ?? defaults.topic),
    idempotencyKey: o.idempotencyKey ?? null,
    mode,
    launchConcurrency:
      o.launchConcurrency === undefined
        ? defaults.launchConcurrency
        : positiveInt(o.launchConcurrency, 'launchConcurrency', 1_000),
    policy: {
      maxAttempts,
      initialBackoffMs:
        o.retry?.initialBackoff === undefined ? null : toMs(o.retry.initialBackoff, 'retry.initialBackoff'),
      maxBackoffMs: o.retry?.maxBackoff === undefined ? null : toMs(o.retry.maxBackoff, 'retry.maxBackoff'),
      jobTimeoutMs: optionalMs(o.timeout, 'timeout'),
      taskTimeoutMs,
      orchestrationTimeoutMs: optionalMs(o.orchestrationTimeout, 'orchestrationTimeout'),
      heartbeatTimeoutMs: optionalMs(o.heartbeatTimeout, 'heartbeatTimeout') ?? DEFAULTS.heartbeatTimeoutMs,
    },
    sensitiveKeys: [...sensitiveKeys],
    background: o.background ?? false,
    signal: o.signal ?? null,
    start,
    maxParallel: o.maxParallel === undefined ? null : positiveInt(o.maxParallel, 'maxParallel', 100_000),
    concurrency: compileConcurrency(o.concurrency),
    maxFailures: o.maxFailures === undefined ? null : nonNegativeInt(o.maxFailures, 'maxFailures', 1_000_000),
    maxFailureRatio: o.maxFailureRatio === undefined ? null : ratio(o.maxFailureRatio, 'maxFailureRatio'),
    successPolicy: compileSuccessPolicy(o.successPolicy),
  };
}

function nonNegativeInt(value: unknown, path: string, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    invalid(path, `must be an integer from 0 to ${max}, got ${String(value)}.`);
  }
  return value;
}

function ratio(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1) {
    invalid(path, `must be a number from 0 to 1, got ${String(value)}.`);
  }
  return value;
}

function compileSuccessPolicy(
  value: KickOffOptions['successPolicy'],
): CompiledKickOffOptions['successPolicy'] {
  if (value === undefined) return null;
  if (typeof value !== 'object' || value === null || 'succeeded' in value === 'ratio' in value) {
    invalid('successPolicy', 'must be { succeeded } or { ratio }.');
  }
  if ('succeeded' in value) return { succeeded: positiveInt(value.succeeded, 'successPolicy.succeeded') };
  const share = ratio(value.ratio, 'successPolicy.ratio');
  if (share === 0) invalid('successPolicy.ratio', 'must be greater than 0.');
  return { ratio: share };
}

/**
 * The end policies of a kick-off of `total` jobs as stored: failures allowed (the smaller of
 * `maxFailures` and `floor(maxFailureRatio × total)`) and successes needed; null where none was given.
 * A `successPolicy.succeeded` above `total` is refused.
 */
export function endPolicies(
  options: Pick<CompiledKickOffOptions, 'maxFailures' | 'maxFailureRatio' | 'successPolicy'>,
  total: number,
): { maxFailures: number | null; successNeeded: number | null } {
  const limits = [
    options.maxFailures,
    options.maxFailureRatio === null ? null : Math.floor(options.maxFailureRatio * total),
  ].filter((limit): limit is number => limit !== null);
  const policy = options.successPolicy;
  if (policy && 'succeeded' in policy && policy.succeeded > total) {
    invalid('successPolicy.succeeded', `must be at most the number of jobs (${total}).`);
  }
  return {
    maxFailures: limits.length === 0 ? null : Math.min(...limits),
    successNeeded:
      policy === null
        ? null
        : 'succeeded' in policy
          ? policy.succeeded
          : Math.max(1, Math.ceil(policy.ratio * total)),
  };
}

const CONCURRENCY_KEY = /^[A-Za-z0-9_.:-]{1,100}$/;

/** Validates a concurrency key's name (as `concurrency.key` at kick-off). */
export function validateKeyName(key: unknown, path = 'key'): string {
  if (typeof key !== 'string' || !CONCURRENCY_KEY.test(key)) {
    invalid(path, "must be 1-100 letters, digits, '_', '.', ':' or '-'.");
  }
  return key;
}

function compileConcurrency(value: KickOffOptions['concurrency']): CompiledKickOffOptions['concurrency'] {
  if (value === undefined) return null;
  if (typeof value !== 'object' || value === null) invalid('concurrency', 'must be { key, limit }.');
  return {
    key: validateKeyName(value.key, 'concurrency.key'),
    limit: positiveInt(value.limit, 'concurrency.limit', 100_000),
  };
}

/** The longest delayed start: a kick-off is not a scheduler (schedules are). */
export const MAX_START_DELAY_MS = 30 * 86_400_000;

function compileStart(
  startAt: Date | string | undefined,
  delay: Duration | undefined,
): CompiledKickOffOptions['start'] {
  if (startAt !== undefined && delay !== undefined)
    invalid('startAt', 'give either startAt or delay, not both.');
  if (delay !== undefined) {
    const delayMs = toMs(delay, 'delay');
    if (delayMs < 0 || delayMs > MAX_START_DELAY_MS) invalid('delay', 'must be from 0 to 30 days.');
    return { delayMs };
  }
  if (startAt === undefined) return null;
  const atMs =
    startAt instanceof Date ? startAt.getTime() : typeof startAt === 'string' ? Date.parse(startAt) : NaN;
  if (!Number.isFinite(atMs)) invalid('startAt', 'must be a Date or an ISO 8601 date-time string.');
  return { atMs };
}

/** Launch settings after defaults. */
export interface CompiledLaunchOptions {
  concurrency: number;
  ratePerMinute: number;
  /** Null: one second's worth of `ratePerMinute`. */
  burst: number | null;
  maxAttempts: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
  retryBudgetMs: number;
  /** Null: no executions-in-flight budget. */
  maxExecutionsInFlight: number | null;
}

/** Validates the service's launch options and fills defaults. */
export function compileLaunchOptions(launch: OrchestrationServiceOptions['launch']): CompiledLaunchOptions {
  const l = launch ?? {};
  return {
    concurrency:
      l.concurrency === undefined
        ? DEFAULTS.launchConcurrency
        : positiveInt(l.concurrency, 'launch.concurrency', 1_000),
    ratePerMinute:
      l.ratePerMinute === undefined
        ? DEFAULTS.launchRatePerMinute
        : positiveInt(l.ratePerMinute, 'launch.ratePerMinute', 1_000_000),
    burst: l.burst === undefined ? null : positiveInt(l.burst, 'launch.burst', 1_000_000),
    maxAttempts:
      l.maxAttempts === undefined
        ? DEFAULTS.launchMaxAttempts
        : positiveInt(l.maxAttempts, 'launch.maxAttempts', 100),
    initialBackoffMs:
      l.initialBackoff === undefined
        ? DEFAULTS.launchInitialBackoffMs
        : toMs(l.initialBackoff, 'launch.initialBackoff'),
    maxBackoffMs:
      l.maxBackoff === undefined ? DEFAULTS.launchMaxBackoffMs : toMs(l.maxBackoff, 'launch.maxBackoff'),
    retryBudgetMs:
      l.retryBudget === undefined ? DEFAULTS.launchRetryBudgetMs : toMs(l.retryBudget, 'launch.retryBudget'),
    maxExecutionsInFlight:
      l.maxExecutionsInFlight === undefined
        ? null
        : positiveInt(l.maxExecutionsInFlight, 'launch.maxExecutionsInFlight', 100_000),
  };
}
