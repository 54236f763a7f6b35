import { randomUUID } from 'node:crypto';

import { Timestamp } from '@google-cloud/firestore';

import type { TopicCheck } from '../completion/topic-check.js';
import type { JobPricing } from '../cost/pricing.js';
import type { JobResourcesSource } from '../cost/resources-source.js';
import type { JobResources } from '../cost/resources.js';
import { DEFAULTS } from '../defaults.js';
import { E11Error, ErrorCode } from '../errors.js';
import { idempotentOrchestrationId, jobIdFor } from '../internal/ids.js';
import { budgetBurst } from '../launch/shared-budget.js';
import { concurrencyKeyId } from '../model/collections.js';
import type { OrchestrationDoc } from '../model/documents.js';
import type { JobParams } from '../model/json.js';
import { isTerminal } from '../model/status.js';
import { joinInFlightBudget, orchestrationGroup } from '../store/budget-admission.js';
import { joinConcurrencyKey } from '../store/key-admission.js';
import { markLaunchCompleted, markLaunchStarted, startLaunchHeartbeat } from '../store/launch-records.js';
import { findOrchestration } from '../store/orchestration-docs.js';
import { registerOrchestration, type RegistrationResult } from '../store/register-orchestration.js';
import {
  e11Tracer,
  formatTraceparent,
  inSpan,
  TraceAttribute,
  TracerScope,
} from '../telemetry/trace-context.js';
import { type ServiceNameMapping, serviceNameFor } from '../validate/job-name.js';
import { validateParamsList } from '../validate/params.js';

import { admitAndLaunch } from './admit.js';
import { awaitRegistration } from './await-registration.js';
import { checkParamsSchema } from './check-params-schema.js';
import type { JobDefinitions, JobReference } from './job-definitions.js';
import { type LaunchContext, LaunchProgress, type LaunchReport, launchJobs } from './launch-jobs.js';
import {
  type CompiledKickOffOptions,
  type CompiledLaunchOptions,
  compileKickOffOptions,
  endPolicies,
  type KickOffOptions,
  MAX_START_DELAY_MS,
} from './options.js';
import { resolveJobPolicy } from './resolve-policy.js';

/**
 * `kickOffJob` as one straight pipeline: {@link validateKickOff} (nothing is written for bad input) →
 * {@link registerKickOff} (the orchestration, its params chunks and counter shards; or the earlier
 * kick-off with the same idempotency key) → {@link launchKickOff} (the tasks, with the jobs registration
 * wrote handed over in memory: launch never reads them back).
 */

/** What `kickOffJob` returns. */
export interface KickOffResult {
  orchestrationId: string;
  /** One UUID per parameter set, in the same order. */
  jobIds: string[];
  /** True when an idempotency key matched an earlier kick-off: nothing new was launched. */
  deduplicated: boolean;
  /**
   * What was launched before the call returned: it waits for the executions the launch budget lets go
   * at once (its burst, one second's worth of `launch.ratePerMinute` by default), or all of them if
   * fewer; the rest launch in the background at the budget's pace (`launched`). Null with `background`,
   * `startAt` / `delay`, or a deduplicated call.
   */
  launch: LaunchReport | null;
  /**
   * Jobs not launched (or ended) when the call returned: paced by the launch budget, beyond
   * `maxParallel` or a concurrency key's admission (each starts when a slot frees, without this
   * backend), or, with `startAt` / `delay`, every job until its start. With `background`, the jobs beyond
   * `maxParallel` or the key's admission. 0 for a deduplicated call.
   */
  waiting: number;
  /**
   * Settles with the whole launch's report when every launch of this call is done (immediately for a
   * deduplicated call). Jobs still unlaunched when this process stops are launched by the sweeper.
   */
  launched: Promise<LaunchReport | null>;
}

/** What a kick-off needs of the engine running it. */
export interface KickOffContext extends LaunchContext {
  /** The job classes the backend knows (`jobs` option). */
  jobs: JobDefinitions;
  serviceName: ServiceNameMapping | undefined;
  defaultTopic: string;
  maxJobs: number;
  topicCheck: TopicCheck;
  /** Keeps a launch running past the call (`close()` waits for it). */
  track<T>(promise: Promise<T>): Promise<T>;
  /** Aborts when the engine closes: a delayed launch still waiting is left to the sweeper. */
  closing: AbortSignal;
  /**
   * The region's executions-in-flight budget (`launch.maxExecutionsInFlight`) the kick-offs' jobs are
   * admitted through; null without.
   */
  inFlightBudget: { id: string; limit: number } | null;
  /** Where a kick-off's CPU and memory come from, and the prices it records (`resources`, `pricing`). */
  cost: { resources: JobResourcesSource; pricing: JobPricing };
}

/** A kick-off that passed validation. */
export interface ValidKickOff {
  jobName: string;
  /** The Cloud Run job the tasks run in. */
  service: string;
  options: CompiledKickOffOptions;
  params: readonly JobParams[];
  /** Launch no job before this time (epoch ms); null: at once. */
  startAtMs: number | null;
  /** One task's CPU and memory and the prices, recorded with the orchestration. */
  cost: { resources: JobResources; pricing: JobPricing };
}

/** A registered kick-off: the orchestration's id and jobs, and (when this call created it) what it wrote. */
export interface RegisteredKickOff {
  orchestrationId: string;
  jobIds: string[];
  /** Null when an idempotency key matched an earlier kick-off: nothing is launched. */
  created: Extract<RegistrationResult, { created: true }> | null;
}

/** Times a kick-off registers afresh after its duplicate's orchestration was removed mid-registration. */
const DUPLICATE_REGISTRATION_ROUNDS = 3;

/**
 * Step 1: resolves the job (name, `@JobName` class or job handle), compiles the options, resolves the
 * job's policy (see `resolveJobPolicy`), checks the params (JSON, sizes, and the job's declared schema:
 * E11_INVALID_PARAMS) and that the event's topic exists. Throws a typed `E11Error`; writes nothing.
 */
export async function validateKickOff(
  context: KickOffContext,
  job: JobReference,
  params: readonly JobParams[],
  kickOffOptions: KickOffOptions | undefined,
): Promise<ValidKickOff> {
  const { jobName, options, declared } = context.jobs.resolve(job, kickOffOptions);
  const service = serviceNameFor(jobName, context.serviceName);
  const compiled = compileKickOffOptions(options, {
    topic: context.defaultTopic,
    launchConcurrency: context.launch.concurrency,
  });
  // Resolved once, here, when the class is known; stored with the orchestration for every reader.
  compiled.policy = resolveJobPolicy(compiled.policy, declared?.policy);
  validateParamsList(params, { maxJobs: context.maxJobs, maxParamsBytes: DEFAULTS.maxParamsBytes });
  // Refused here (a success count above the jobs), before anything is written.
  endPolicies(compiled, params.length);
  // The job's declared schema (handle, class, or registered under the name) checks every set first.
  await checkParamsSchema(declared?.schema, params, jobName);
  const startAtMs = startTime(compiled.start, context.store.clock.now());
  // The event is promised on this topic: a missing one fails here, before anything is written.
  await context.topicCheck.check(compiled.topic);
  // Never fails: a Cloud Run job that cannot be read is costed with Cloud Run's defaults.
  const resources = await context.cost.resources.resolve(jobName, service);
  const cost = { resources, pricing: context.cost.pricing };
  return { jobName, service, options: compiled, params, startAtMs, cost };
}

/**
 * Step 2: registers the orchestration. An existing one is this kick-off's duplicate (same idempotency
 * key): the call waits until that one registered its jobs and returns it (`created: null`). If it
 * disappears while awaited (its registration failed and removed itself, or the sweeper removed an
 * abandoned one), this call registers afresh.
 */
export async function registerKickOff(
  context: KickOffContext,
  valid: ValidKickOff,
  pipeline: OrchestrationDoc['pipeline'] = null,
  /** The W3C traceparent of the kick-off's span, stored on the orchestration. */
  traceparent: string | null = null,
): Promise<RegisteredKickOff> {
  const { store, logger } = context;
  const { jobName, service, options, params } = valid;
  const orchestrationId =
    options.idempotencyKey === null
      ? randomUUID()
      : idempotentOrchestrationId(store.collections.prefix, store.tenant, options.idempotencyKey);
  const jobIds = params.map((_, index) => jobIdFor(orchestrationId, index));
  const createdAtMs = store.clock.now();
  const registration = {
    orchestration: {
      id: orchestrationId,
      jobName,
      service,
      tags: store.tenant === null ? options.tags : { ...options.tags, tenant: store.tenant },
      tenant: store.tenant,
      topic: options.topic,
      mode: options.mode,
      policy: options.policy,
      idempotencyKey: options.idempotencyKey,
      sensitiveKeys: options.sensitiveKeys,
      // A delayed orchestration's time runs from its start.
      deadlineAt:
        options.policy.orchestrationTimeoutMs === null
          ? null
          : Timestamp.fromMillis((valid.startAtMs ?? createdAtMs) + options.policy.orchestrationTimeoutMs),
      startAt: valid.startAtMs === null ? null : Timestamp.fromMillis(valid.startAtMs),
      maxParallel: options.maxParallel,
      concurrencyKey:
        options.concurrency === null ? null : concurrencyKeyId(store.tenant, options.concurrency.key),
      inFlightBudget: context.inFlightBudget?.id ?? null,
      pipeline,
      traceparent,
      ...endPolicies(options, params.length),
      resources: valid.cost.resources,
      pricing: valid.cost.pricing,
    },
    params,
  };
  for (let round = 1; ; round++) {
    const registered = await registerOrchestration(store, registration);
    if (registered.created) return { orchestrationId, jobIds, created: registered };
    const logContext = { orchestrationId, idempotencyKey: options.idempotencyKey };
    logger.debug(logContext, 'idempotency key already used: waiting for that kick-off to register its jobs');
    if (await awaitRegistration(store, orchestrationId, jobName, params.length)) {
      return { orchestrationId, jobIds, created: null };
    }
    logger.warn(
      logContext,
      'the orchestration was removed while its registration was awaited: registering afresh',
    );
    if (round === DUPLICATE_REGISTRATION_ROUNDS) {
      throw new E11Error(
        ErrorCode.Timeout,
        `Orchestration ${orchestrationId} was removed ${round} times while its registration was awaited.`,
        { retryable: true, context: { orchestrationId } },
      );
    }
  }
}

/**
 * Step 3: marks the orchestration `InProgress` and launches its jobs (bounded concurrency, the shared
 * rate limit, retries), with a launch heartbeat while it runs; when every job was launched or ended,
 * marks the launch complete (jobs left `Pending` stay the sweeper's to launch once this kick-off is
 * silent). The jobs come from registration in memory. Resolves once the launch has started, with the
 * promise that settles when it is done.
 */
export async function launchKickOff(
  context: KickOffContext,
  valid: ValidKickOff,
  registered: RegisteredKickOff & { created: Extract<RegistrationResult, { created: true }> },
): Promise<{ launched: Promise<LaunchReport> }> {
  const { store, logger } = context;
  const { orchestrationId, jobIds, created } = registered;
  await markLaunchStarted(store, orchestrationId);
  const stopHeartbeat = startLaunchHeartbeat(store, orchestrationId);
  const launched = context.track(
    launchJobs(context, {
      orchestration: {
        id: orchestrationId,
        jobName: valid.jobName,
        service: valid.service,
        mode: valid.options.mode,
        policy: valid.options.policy,
        createdAt: created.createdAt,
        startAt: valid.startAtMs === null ? null : Timestamp.fromMillis(valid.startAtMs),
      },
      // With maxParallel, the first slots only (registration admitted them); the others start as jobs end.
      jobs: jobIds.slice(0, admittedAtOnce(context, valid)).map((id, index) => ({ id, index })),
      unwritten: created.unwritten,
      concurrency: valid.options.launchConcurrency,
      ...(valid.options.signal ? { signal: valid.options.signal } : {}),
    })
      // With a concurrency key or the region's in-flight budget, the key or budget admits this
      // orchestration's first jobs (shared with the others waiting for it), launched here.
      .then(async (report) => {
        if (!sharesSlots(context, valid)) return report;
        const round = await admitAndLaunch(context, orchestrationId);
        return round.launch ?? report;
      })
      .then(async (report) => {
        // Failing to say so has the same effect as jobs left Pending: the sweeper checks them.
        if (report.deferred === 0) {
          await markLaunchCompleted(store, orchestrationId).catch((error: unknown) =>
            logger.warn(
              { err: error, orchestrationId },
              'could not mark the launch complete; the sweeper will check the jobs still Pending',
            ),
          );
        }
        return report;
      })
      .finally(stopHeartbeat),
  );
  return { launched };
}

/** The whole kick-off: validate → register → launch (its first wave awaited unless `background`). */
export async function kickOff(
  context: KickOffContext,
  job: JobReference,
  params: readonly JobParams[],
  options: KickOffOptions | undefined,
  /** A pipeline's stage kick-off names its pipeline and stage here. */
  pipeline: OrchestrationDoc['pipeline'] = null,
): Promise<KickOffResult> {
  // A dry run never gets here through kickOffJob; anywhere else (a pipeline stage, a schedule) it
  // would be silently run for real.
  if (options?.dryRun === true) {
    throw new E11Error(
      ErrorCode.InvalidOptions,
      'dryRun: only kickOffJob estimates; this kick-off would run.',
      {
        context: { path: 'dryRun' },
      },
    );
  }
  const tracer = e11Tracer(TracerScope.core);
  const attributes = {
    [TraceAttribute.jobCount]: params.length,
    ...(context.store.tenant === null ? {} : { [TraceAttribute.tenant]: context.store.tenant }),
  };
  // The orchestration's root span: registration and every launch of this call are its children (the
  // context is passed on explicitly, so this holds without a context manager), and the stored
  // traceparent makes the tasks' and the completion function's spans join its trace.
  return inSpan(tracer, 'kickOffJob', { attributes }, async (span, traceContext) => {
    const valid = await validateKickOff(context, job, params, options);
    span.updateName(`kickOffJob ${valid.jobName}`);
    span.setAttribute(TraceAttribute.jobName, valid.jobName);
    const traced = { ...context, traceContext };
    const result = await kickOffValid(traced, valid, pipeline, formatTraceparent(span.spanContext()));
    span.setAttribute(TraceAttribute.orchestrationId, result.orchestrationId);
    return result;
  });
}

/** {@link kickOff} once validated: register (in its own span), then launch. */
async function kickOffValid(
  context: KickOffContext,
  valid: ValidKickOff,
  pipeline: OrchestrationDoc['pipeline'],
  traceparent: string | null,
): Promise<KickOffResult> {
  const registered = await inSpan(
    e11Tracer(TracerScope.core),
    `e11.register ${valid.jobName}`,
    {
      ...(context.traceContext ? { parent: context.traceContext } : {}),
      attributes: { [TraceAttribute.jobName]: valid.jobName, [TraceAttribute.jobCount]: valid.params.length },
    },
    async (span) => {
      const result = await registerKickOff(context, valid, pipeline, traceparent);
      span.setAttribute(TraceAttribute.orchestrationId, result.orchestrationId);
      if (result.created === null) span.setAttribute('e11.deduplicated', true);
      return result;
    },
  );
  const { orchestrationId, jobIds, created } = registered;
  if (created !== null) await joinSharedSlots(context, valid, orchestrationId);
  if (created === null) {
    return {
      orchestrationId,
      jobIds,
      deduplicated: true,
      launch: null,
      waiting: 0,
      launched: Promise.resolve(null),
    };
  }
  if (valid.startAtMs !== null) {
    const launched = context.track(
      delayedLaunch(context, valid, { ...registered, created }, valid.startAtMs),
    );
    launched.catch((error: unknown) =>
      context.logger.error({ err: error, orchestrationId }, 'delayed launch failed'),
    );
    return { orchestrationId, jobIds, deduplicated: false, launch: null, waiting: jobIds.length, launched };
  }
  const progress = new LaunchProgress(atOnceWave(context.launch));
  const { launched } = await launchKickOff({ ...context, progress }, valid, {
    ...registered,
    created,
  });
  // Whatever this call does not wait for goes on in the background (and is the sweeper's if it dies).
  launched.catch((error: unknown) =>
    context.logger.error({ err: error, orchestrationId }, 'background launch failed'),
  );
  if (valid.options.background) {
    // Returned before any launch went: the jobs beyond what the kick-off itself launches wait.
    const waiting = jobIds.length - admittedAtOnce(context, valid);
    return { orchestrationId, jobIds, deduplicated: false, launch: null, waiting, launched };
  }
  const done = await Promise.race([launched, progress.reached.then(() => null)]);
  const launch = done ?? progress.snapshot();
  // A key's round may launch other orchestrations' jobs too: `waiting` counts this one's only.
  const waiting = jobIds.length - progress.settledOf(orchestrationId);
  return { orchestrationId, jobIds, deduplicated: false, launch, waiting, launched };
}

/**
 * How many executions `kickOffJob` waits for before it returns: the launch budget's burst (one
 * second's worth of `launch.ratePerMinute` unless `launch.burst` says otherwise), what goes without
 * waiting for quota. A 2,000-job per-job kick-off at 120 a minute returns after 2, not 17 minutes.
 */
function atOnceWave(launch: CompiledLaunchOptions): number {
  return launch.burst ?? budgetBurst(launch.ratePerMinute);
}

/**
 * Registered: the orchestration waits for its concurrency key's slots and the region's in-flight
 * budget's from now on (the sweeper admits it too). A keyed orchestration takes part in the budget
 * through its key.
 */
async function joinSharedSlots(
  context: KickOffContext,
  valid: ValidKickOff,
  orchestrationId: string,
): Promise<void> {
  const { store, inFlightBudget } = context;
  const { concurrency } = valid.options;
  const keyId = concurrency === null ? null : concurrencyKeyId(store.tenant, concurrency.key);
  if (concurrency !== null && keyId !== null) {
    await joinConcurrencyKey(store, keyId, orchestrationId, concurrency.limit, inFlightBudget?.id ?? null);
  }
  if (inFlightBudget !== null) {
    const group = keyId ?? orchestrationGroup(store.tenant, orchestrationId);
    await joinInFlightBudget(store, inFlightBudget.id, group, inFlightBudget.limit);
  }
}

/** Whether the kick-off's jobs are admitted through shared slots (a concurrency key, the in-flight budget). */
function sharesSlots(context: KickOffContext, valid: ValidKickOff): boolean {
  return valid.options.concurrency !== null || context.inFlightBudget !== null;
}

/**
 * How many jobs the kick-off launches itself: all of them, or the first `maxParallel`; none with a
 * concurrency key or the in-flight budget (they admit them).
 */
function admittedAtOnce(context: KickOffContext, valid: ValidKickOff): number {
  const { maxParallel } = valid.options;
  if (sharesSlots(context, valid)) return 0;
  return maxParallel === null ? valid.params.length : Math.min(maxParallel, valid.params.length);
}

/** When a kick-off's jobs may launch: null for at once (no start given, or a time already past). */
function startTime(start: CompiledKickOffOptions['start'], nowMs: number): number | null {
  if (start === null) return null;
  const atMs = 'delayMs' in start ? nowMs + start.delayMs : start.atMs;
  if (atMs - nowMs > MAX_START_DELAY_MS) {
    throw new E11Error(ErrorCode.InvalidOptions, 'startAt: must be at most 30 days ahead.', {
      context: { path: 'startAt' },
    });
  }
  return atMs > nowMs ? atMs : null;
}

/**
 * Launches a delayed kick-off when it is due. Resolves with null, launching nothing, when the engine
 * closes first (the sweeper launches it once due and this backend has been silent), or when by then it
 * was cancelled or paused (`resume()` launches a paused one).
 */
async function delayedLaunch(
  context: KickOffContext,
  valid: ValidKickOff,
  registered: RegisteredKickOff & { created: Extract<RegistrationResult, { created: true }> },
  startAtMs: number,
): Promise<LaunchReport | null> {
  const due = await new Promise<boolean>((resolve) => {
    if (context.closing.aborted) return resolve(false);
    const timer = setTimeout(
      () => {
        context.closing.removeEventListener('abort', onClose);
        resolve(true);
      },
      Math.max(0, startAtMs - context.store.clock.now()),
    );
    const onClose = () => {
      clearTimeout(timer);
      resolve(false);
    };
    context.closing.addEventListener('abort', onClose, { once: true });
  });
  if (!due) return null;
  const current = await findOrchestration(context.store, registered.orchestrationId);
  if (!current || current.paused || current.cancelRequested || isTerminal(current.status)) return null;
  const { launched } = await launchKickOff(context, valid, registered);
  return launched;
}
