import { DEFAULTS } from '../defaults.js';
import { isE11Error } from '../errors.js';
import { serviceStore } from '../internal/service-store.js';
import { type Logger } from '../logging.js';
import { type JobParams } from '../model/json.js';
import type { KickOffOptions } from '../orchestration/options.js';
import type { Store } from '../store/store.js';

import {
  claimScheduleRun,
  finishScheduleRun,
  releaseScheduleRun,
  type RunClaimRequest,
  type RunResult,
} from './run-store.js';
import type { ParamsFactories } from './schedule-definition.js';
import type { ScheduleDoc } from './schedule-documents.js';
import { findActiveScheduleOrchestrations, SCHEDULE_TAG } from './schedule-orchestrations.js';

/**
 * The parts of a service a tick uses: the sdk's `OrchestrationService` (or a subclass) or the engine.
 * It must be one of them: a tick reads the service's store, which they expose to E11's own modules only
 * (see `serviceStore`).
 */
export interface ScheduleService {
  readonly logger: Logger;
  kickOffJob(
    jobName: string,
    params: readonly JobParams[],
    options?: KickOffOptions,
  ): Promise<{ orchestrationId: string; deduplicated: boolean }>;
  cancel(orchestrationId: string): Promise<unknown>;
  forTenant(tenant: string): ScheduleService;
}

/** What a tick (or a manual trigger) needs. */
export interface ScheduleTickDeps {
  /** Kicks off, cancels and reads orchestrations; its store holds the schedules and its clock is "now". */
  service: ScheduleService;
  /** Factories named by schedules' `paramsFactory`. A schedule naming a missing one records a `failed` run. */
  paramsFactories?: ParamsFactories;
  /** @default the service's logger */
  logger?: Logger;
  /** @default DEFAULTS.scheduleRunLeaseMs */
  leaseMs?: number;
}

/** What one schedule did in one tick or trigger. */
export interface TickResult {
  schedule: string;
  /**
   * `launched` / `skipped` / `failed`: a run was recorded now. `duplicate`: this fire was already
   * recorded (or is being recorded) by another tick — nothing was done. `not-due`: no fire time is due.
   * `paused`: the schedule is disabled.
   */
  outcome: 'launched' | 'skipped' | 'failed' | 'duplicate' | 'not-due' | 'paused';
  /** The fire time handled (ISO), if any. */
  fireTime: string | null;
  runId: string | null;
  orchestrationId: string | null;
  reason: string | null;
}

/** A run to fire: the claim request plus whether overlap is ignored. */
export interface FireRequest extends RunClaimRequest {
  /** Launch even if the previous run is still going (manual trigger with `force`). */
  force: boolean;
}

function describe(error: unknown): string {
  if (isE11Error(error)) return `${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

/** Errors a retry of the same fire can fix: anything but a deliberate, non-retryable E11 error. */
function isTransient(error: unknown): boolean {
  return !isE11Error(error) || error.retryable;
}

/**
 * Fires one run of a schedule: claims the run document (a duplicate claim does nothing; under `skip`
 * or `cancel-previous` a run of the schedule still being launched by another tick makes it `skipped`),
 * applies the overlap policy to the schedule's still-running orchestrations (found by their tag, so an
 * unrecorded launch or a manual run counts too), builds the params, kicks the job off with the run's
 * idempotency key and the tag `schedule: name`, and records the outcome on the run and the schedule. A run that cannot launch for a reason a retry cannot fix (unknown or throwing params
 * factory, invalid params, invalid kick-off options) is recorded `failed`; a transient error (Firestore
 * or Cloud Run unavailable) gives the claim back and is thrown, so a retry of the tick finishes it —
 * the idempotency key makes a retry after a launch that did happen harmless.
 */
export async function fireSchedule(
  deps: ScheduleTickDeps,
  schedule: ScheduleDoc,
  request: FireRequest,
): Promise<TickResult> {
  const { service } = deps;
  // A tenant's schedule lives, and kicks off, in that tenant, whatever the scope of the service running
  // the tick (the function's and the local scheduler's are unscoped): its run documents, overlap check
  // and orchestrations all go through a service scoped to the schedule's tenant.
  const scoped =
    schedule.tenant !== null && serviceStore(service).tenant !== schedule.tenant
      ? service.forTenant(schedule.tenant)
      : service;
  const store = serviceStore(scoped);
  const logger = deps.logger ?? service.logger;
  // skip and cancel-previous must not launch beside another run; a forced manual run and allow may.
  const exclusive = !request.force && schedule.overlap !== 'allow';
  const claim = await claimScheduleRun(store, schedule.name, request, {
    leaseMs: deps.leaseMs ?? DEFAULTS.scheduleRunLeaseMs,
    exclusive,
  });
  const base = { schedule: schedule.name, fireTime: request.firedAt.toISOString(), runId: request.id };
  if (claim.outcome === 'duplicate') {
    return {
      ...base,
      outcome: 'duplicate',
      orchestrationId: claim.run.orchestrationId,
      reason: `run ${claim.run.id} was already recorded by another tick (${claim.run.outcome})`,
    };
  }
  if (claim.outcome === 'skipped') {
    const summary = { ...base, outcome: 'skipped', orchestrationId: null, reason: claim.run.reason } as const;
    logger.info({ ...summary, trigger: request.trigger }, `Schedule ${schedule.name}: run skipped`);
    return summary;
  }
  const finish = async (result: RunResult): Promise<TickResult> => {
    const run = await finishScheduleRun(store, schedule.name, request.id, result);
    const summary = {
      ...base,
      outcome: run.outcome === 'pending' ? 'failed' : run.outcome,
      orchestrationId: run.orchestrationId,
      reason: run.reason,
    } as const;
    logger.info({ ...summary, trigger: request.trigger }, `Schedule ${schedule.name}: run ${run.outcome}`);
    return summary;
  };

  try {
    const skipped = exclusive ? await applyOverlap(store, scoped, schedule, request) : null;
    if (skipped !== null) return await finish({ outcome: 'skipped', orchestrationId: null, reason: skipped });
    const built = await runParams(deps, schedule, request.firedAt);
    if ('reason' in built)
      return await finish({ outcome: 'failed', orchestrationId: null, reason: built.reason });

    let result;
    try {
      result = await scoped.kickOffJob(schedule.jobName, built.params, {
        ...schedule.kickOff,
        idempotencyKey: request.idempotencyKey,
        tags: { ...schedule.kickOff.tags, [SCHEDULE_TAG]: schedule.name },
      });
    } catch (error) {
      if (isTransient(error)) throw error;
      return await finish({ outcome: 'failed', orchestrationId: null, reason: describe(error) });
    }
    return await finish({
      outcome: 'launched',
      orchestrationId: result.orchestrationId,
      reason: result.deduplicated ? 'kick-off deduplicated: an earlier tick had launched it' : null,
    });
  } catch (error) {
    logger.warn(
      { err: error, schedule: schedule.name, runId: request.id },
      'Schedule run failed; a retry takes it over',
    );
    await releaseScheduleRun(store, schedule.name, request.id).catch((releaseError: unknown) =>
      logger.warn({ err: releaseError, schedule: schedule.name }, 'Could not release the schedule run claim'),
    );
    throw error;
  }
}

/**
 * Applies a `skip` or `cancel-previous` policy to the schedule's still-running orchestrations, found
 * by their tag (this run's own, launched by a tick that died before recording it, is not a previous
 * run: the kick-off finds it again). Returns why this run is skipped, or null to go on (after
 * cancelling the previous runs under `cancel-previous`).
 */
async function applyOverlap(
  store: Store,
  scoped: ScheduleService,
  schedule: ScheduleDoc,
  request: FireRequest,
): Promise<string | null> {
  const active = (await findActiveScheduleOrchestrations(store, schedule.name)).filter(
    (orchestration) => orchestration.idempotencyKey !== request.idempotencyKey,
  );
  const [latest] = active;
  if (latest && schedule.overlap === 'skip') {
    return `previous run's orchestration ${latest.id} is still ${latest.status}`;
  }
  for (const orchestration of active) await scoped.cancel(orchestration.id);
  return null;
}

/**
 * The run's params: the schedule's own, or what its registered factory builds for the fire time; the
 * reason (a failed run) when the factory is not registered or throws.
 */
async function runParams(
  deps: ScheduleTickDeps,
  schedule: ScheduleDoc,
  firedAt: Date,
): Promise<{ params: readonly JobParams[] } | { reason: string }> {
  if (schedule.params !== null) return { params: schedule.params };
  const name = schedule.paramsFactory ?? '';
  const factory =
    schedule.paramsFactory === null ? undefined : deps.paramsFactories?.[schedule.paramsFactory];
  if (!factory) return { reason: `params factory '${name}' is not registered with the tick` };
  try {
    return { params: await factory(firedAt) };
  } catch (error) {
    return { reason: `params factory '${name}' threw: ${describe(error)}` };
  }
}
