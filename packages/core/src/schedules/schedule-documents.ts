import type { Timestamp } from '@google-cloud/firestore';
import { z } from 'zod';
import { type Duration } from '../duration.js';
import { type JobParams } from '../model/json.js';

/**
 * The two documents of a schedule, as zod schemas with inferred types:
 *
 * - `{prefix}schedules/{name}` — the definition and its bookkeeping ({@link scheduleDocSchema});
 * - `{prefix}schedules/{name}/runs/{runId}` — one per fire ({@link scheduleRunDocSchema}); the id of a
 *   cron fire is its fire time (ISO), of a manual trigger `manual-{ISO}`, so a duplicated tick finds
 *   the run it already recorded.
 */

const timestamp = z.custom<Timestamp>(
  (value) =>
    typeof value === 'object' && value !== null && typeof (value as Timestamp).toMillis === 'function',
  'expected a Firestore Timestamp',
);

const duration = z.custom<Duration>(
  (value) =>
    typeof value === 'number' ||
    (typeof value === 'string' && /^\s*\d+(?:\.\d+)?\s*(ms|s|m|h|d)\s*$/.test(value)),
  "expected a duration such as '30s', '10m' or a number of milliseconds",
);

/** The kick-off options a schedule stores (every `KickOffOptions` field except `idempotencyKey` and `background`). */
export const scheduleKickOffSchema = z.strictObject({
  tags: z.record(z.string(), z.string()).optional(),
  topic: z.string().optional(),
  mode: z.enum(['per-job', 'array']).optional(),
  launchConcurrency: z.number().optional(),
  timeout: duration.optional(),
  taskTimeout: duration.optional(),
  orchestrationTimeout: duration.optional(),
  retry: z
    .strictObject({
      maxAttempts: z.number().optional(),
      initialBackoff: duration.optional(),
      maxBackoff: duration.optional(),
    })
    .optional(),
  taskRetries: z.number().optional(),
  heartbeatTimeout: duration.optional(),
  sensitiveKeys: z.array(z.string()).optional(),
});

/** What a tick does when the previous run of the schedule is still going. */
export const overlapSchema = z.enum(['skip', 'allow', 'cancel-previous']);
/** `skip`: record a skipped run, launch nothing. `allow`: launch anyway. `cancel-previous`: cancel it, then launch. */
export type OverlapPolicy = z.infer<typeof overlapSchema>;

/** How a run was started. */
export const runTriggerSchema = z.enum(['cron', 'manual']);
/** What started a schedule run: its cron tick or a manual run. */
export type RunTrigger = z.infer<typeof runTriggerSchema>;

/** `pending` while a tick holds the run; then `launched`, `skipped` (overlap) or `failed` (no orchestration). */
export const runOutcomeSchema = z.enum(['pending', 'launched', 'skipped', 'failed']);
/** `pending` while a tick holds the run, then `launched`, `skipped` (overlap) or `failed`. */
export type RunOutcome = z.infer<typeof runOutcomeSchema>;

/** The summary of the latest run kept on the schedule document. */
export const lastRunSchema = z.object({
  runId: z.string(),
  trigger: runTriggerSchema,
  firedAt: timestamp,
  outcome: runOutcomeSchema,
  orchestrationId: z.string().nullable(),
  reason: z.string().nullable(),
});

/** A run being launched under an exclusive overlap policy (see `launching` on the schedule document). */
export const launchingSchema = z.object({
  runId: z.string(),
  claimedAt: timestamp,
});
export type Launching = z.infer<typeof launchingSchema>;

export const scheduleDocSchema = z.object({
  v: z.literal(1),
  name: z.string(),
  /** The tenant of the service that wrote it; its kick-offs carry that tenant. Null: unscoped. */
  tenant: z.string().nullable(),
  cron: z.string(),
  timeZone: z.string(),
  jobName: z.string(),
  params: z.array(z.record(z.string(), z.unknown())).nullable(),
  paramsFactory: z.string().nullable(),
  overlap: overlapSchema,
  enabled: z.boolean(),
  kickOff: scheduleKickOffSchema,
  /** The Cloud Scheduler job that calls the tick function, when production wiring is configured. */
  cloudSchedulerJob: z.string().nullable(),
  createdAt: timestamp,
  updatedAt: timestamp,
  /**
   * Fire times before this never run: set on creation, when the cron or time zone changes and on
   * resume, so a schedule does not fire for times that passed before it existed or while it was paused.
   */
  notBefore: timestamp,
  /** The latest cron fire time handled (launched, skipped or failed). */
  lastFireAt: timestamp.nullable(),
  /** The next cron fire time after now (null while paused or if the expression never fires again). */
  nextFireAt: timestamp.nullable(),
  lastRun: lastRunSchema.nullable(),
  /** The orchestration of the latest launched run (informational; overlap checks query the orchestrations). */
  lastOrchestrationId: z.string().nullable(),
  /**
   * The run a tick is launching right now under an exclusive policy (`skip`, `cancel-previous`), set in
   * the transaction that claims the run and cleared when it ends: a concurrent tick for another fire
   * (or a manual trigger) sees it and skips, so two runs never launch side by side. A marker older than
   * the run lease belongs to a tick that died and is ignored.
   */
  launching: launchingSchema.nullable().default(null),
});
/** A schedule document (`{prefix}schedules/{id}`) with its params decoded. */
export type ScheduleDoc = Omit<z.infer<typeof scheduleDocSchema>, 'params'> & { params: JobParams[] | null };

export const scheduleRunDocSchema = z.object({
  v: z.literal(1),
  id: z.string(),
  schedule: z.string(),
  trigger: runTriggerSchema,
  /** The scheduled fire time (cron) or the time of the manual trigger. */
  firedAt: timestamp,
  idempotencyKey: z.string(),
  outcome: runOutcomeSchema,
  orchestrationId: z.string().nullable(),
  /** Why a run was skipped or failed, or that its kick-off was deduplicated. */
  reason: z.string().nullable(),
  /** When the tick that holds (or held) the run claimed it; a stale claim is taken over. */
  claimedAt: timestamp,
  /** Ticks that claimed the run (1 unless a tick died and another took over). */
  claims: z.number().int().positive(),
  finishedAt: timestamp.nullable(),
});
/** One run of a schedule (`…/runs/{runId}`). */
export type ScheduleRunDoc = z.infer<typeof scheduleRunDocSchema>;
