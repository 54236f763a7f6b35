import {
  type AnyJobHandle,
  assertJobId,
  assertOrchestrationId,
  createLogger,
  E11Error,
  ErrorCode,
  type JobClassReference,
  type JobParams,
  type JobStatus,
  type JsonValue,
  loadJob,
  loadOrchestration,
  type Logger,
  type ParamsOf,
  readShardTotals,
  type ResultOf,
  type Store,
} from '@e11/core';
import type { PipelineDefinition, PipelineStatus } from '@e11/core';
import {
  bindServiceStore,
  deleteOrchestrationsOlderThan,
  Engine,
  type JobInfo,
  type JobReference,
  type JobResults,
  type KickOffOptions,
  type KickOffEstimate,
  type KickOffResult,
  type LaunchReport,
  type OrchestrationInfo,
  type OrchestrationServiceOptions,
  assertPipelineId,
  getPipelineInfo,
  listPipelineInfos,
  partitionResults,
  type PipelineInfo,
  type StartPipelineOptions,
  type StartPipelineResult,
  readAllJobs,
  type RetentionOptions,
  type RetentionReport,
  serviceJobDefinitions,
  serviceStore,
  type SweepOptions,
  type SweepReport,
  toJobInfo,
  waitingReason,
  toOrchestrationInfo,
  waitForAllTerminal,
} from '@e11/core/engine';
import { type Observable, throwError } from 'rxjs';

import { type DeadLetter, type DeadLetterOptions, listDeadLetters } from '../monitoring/dead-letters.js';
import type { JobTransition } from '../monitoring/job-changes.js';
import {
  listOrchestrations,
  type ListOrchestrationsOptions,
  type OrchestrationPage,
} from '../monitoring/list-orchestrations.js';
import { getMetrics, type MetricsOptions, type MetricsReport } from '../monitoring/metrics.js';
import { watchJobs, type WatchJobsOptions } from '../monitoring/watch-jobs.js';
import { watchOrchestration, type WatchOptions } from '../monitoring/watch-orchestration.js';
import { watchPipeline } from '../monitoring/watch-pipeline.js';
import { onFirestore } from '../on-firestore.js';
import { Schedules } from '../schedules/schedules.js';

/** The error an id check throws, or undefined (for the methods that report errors through an Observable). */
function idError(check: () => void): Error | undefined {
  try {
    check();
    return undefined;
  } catch (error) {
    return error as Error;
  }
}

/**
 * The backend-facing facade: kicks off orchestrations (one job per parameter set, one Cloud Run task
 * execution per job, or one execution for all in array mode), reads their state, and waits for
 * results. Create one per process and `close()` it on shutdown. What changes state (kick-off, cancel,
 * retry, discard, sweep) is the engine's (`@e11/core/engine`), which this service holds; reads,
 * watches and schedules are its own.
 */
export class OrchestrationService {
  readonly #engine: Engine;
  /** The Firestore state; never exposed (the package's own modules read it through `serviceStore`). */
  readonly #store: Store;
  readonly logger: Logger;

  /** @param shared For `forTenant()` only: the tenant-scoped engine of the view. */
  constructor(options: OrchestrationServiceOptions = {}, shared?: { engine: Engine }) {
    this.#engine =
      shared?.engine ?? new Engine({ ...options, logger: options.logger ?? createLogger('e11-sdk') });
    this.#store = serviceStore(this.#engine);
    bindServiceStore(this, { store: this.#store, jobs: serviceJobDefinitions(this.#engine) });
    this.logger = this.#engine.logger;
  }

  /**
   * The same service scoped to one tenant: it shares this service's clients and launcher, stamps its
   * kick-offs with the tenant, and cannot read, watch, cancel or retry other tenants' orchestrations.
   * A scoped service cannot leave its scope: `forTenant()` of its own tenant returns the service itself,
   * of any other tenant throws `E11_TENANT_SCOPE`.
   */
  forTenant(tenant: string): OrchestrationService {
    const scoped = this.#engine.forTenant(tenant);
    return scoped === this.#engine ? this : new OrchestrationService({}, { engine: scoped });
  }

  /**
   * Runs `jobName` once per parameter set. Validates everything first (nothing is written for bad
   * input), registers the orchestration and its params (in chunk documents of up to 100 sets; a job's
   * own document is written at its first change) in batched writes, then launches the tasks with
   * bounded concurrency, the launch rate limit and retries. A permanent launch failure ends exactly the
   * affected jobs `Errored`; a quota (429) or 503 window only delays them (they stay `Pending`, and the
   * sweeper launches what the retry budget or an aborted `signal` left). `cancel()` stops the launching.
   * With an `idempotencyKey`, a repeated or concurrent call returns the same orchestration and launches
   * nothing. `job` is the job's handle (`defineJob`: params type-checked, and checked with its
   * `schema`), its `@JobName` class (params type-checked against its `run`, checked with its `schema`),
   * or its name (checked with the schema of a class or handle registered under it, see the `jobs`
   * option); a params set the schema refuses fails the call with E11_INVALID_PARAMS naming its index and
   * field, before anything is written or launched. The class's declared `sensitiveKeys` (or a registered
   * class's) are stored with the orchestration together with `options.sensitiveKeys`.
   *
   * With `dryRun: true` nothing is written or launched: the call validates exactly as a kick-off does
   * (same typed errors) and returns a {@link KickOffEstimate}: the jobs × the job name's recent
   * average task seconds per job × the price, or `amount: null` with a `reason` without history.
   */
  kickOffJob<H extends AnyJobHandle>(
    job: H,
    params: readonly ParamsOf<H>[],
    options: KickOffOptions & { dryRun: true },
  ): Promise<KickOffEstimate>;
  kickOffJob<C extends JobClassReference<never>>(
    job: C,
    params: readonly ParamsOf<C>[],
    options: KickOffOptions & { dryRun: true },
  ): Promise<KickOffEstimate>;
  kickOffJob<P extends object = JobParams>(
    job: string,
    params: readonly P[],
    options: KickOffOptions & { dryRun: true },
  ): Promise<KickOffEstimate>;
  kickOffJob<H extends AnyJobHandle>(
    job: H,
    params: readonly ParamsOf<H>[],
    options?: KickOffOptions,
  ): Promise<KickOffResult>;
  kickOffJob<C extends JobClassReference<never>>(
    job: C,
    params: readonly ParamsOf<C>[],
    options?: KickOffOptions,
  ): Promise<KickOffResult>;
  kickOffJob<P extends object = JobParams>(
    job: string,
    params: readonly P[],
    options?: KickOffOptions,
  ): Promise<KickOffResult>;
  kickOffJob(
    job: JobReference,
    params: readonly object[],
    options?: KickOffOptions,
  ): Promise<KickOffResult | KickOffEstimate> {
    // JSON-ness of each set is checked at run time (E11_INVALID_PARAMS), whatever its static type.
    return onFirestore(() => this.#engine.kickOffJob(job, params as readonly JobParams[], options));
  }

  /** An orchestration with live counts; `E11_UNKNOWN_ORCHESTRATION` if none. */
  async getOrchestration(orchestrationId: string): Promise<OrchestrationInfo> {
    assertOrchestrationId(orchestrationId);
    const [doc, totals] = await onFirestore(() =>
      Promise.all([
        loadOrchestration(this.#store, orchestrationId),
        readShardTotals(this.#store, orchestrationId),
      ]),
    );
    return toOrchestrationInfo(doc, totals.counts, totals.taskMillis);
  }
  /** One job, redacted with its orchestration's `sensitiveKeys` (see `toJobInfo`); `E11_UNKNOWN_JOB` if none. */
  async getJob<P extends JobParams = JobParams, R = unknown>(
    orchestrationId: string,
    jobId: string,
  ): Promise<JobInfo<P, R>> {
    assertOrchestrationId(orchestrationId);
    assertJobId(orchestrationId, jobId);
    // The orchestration first: another tenant's (or a missing) one must answer E11_UNKNOWN_ORCHESTRATION
    // every time, never E11_UNKNOWN_JOB by winning a race, and its job is then never read.
    const orchestration = await onFirestore(() => loadOrchestration(this.#store, orchestrationId));
    const job = await onFirestore(() => loadJob(this.#store, orchestrationId, jobId, { orchestration }));
    const waiting = waitingReason(job, orchestration, this.#store.clock.now());
    return toJobInfo<P, R>(job, orchestration.sensitiveKeys, waiting);
  }

  /** The jobs of an orchestration in index order (redacted as `getJob`), optionally only those with `status`. */
  async listJobs<P extends JobParams = JobParams, R = unknown>(
    orchestrationId: string,
    options: { status?: JobStatus } = {},
  ): Promise<JobInfo<P, R>[]> {
    assertOrchestrationId(orchestrationId);
    const orchestration = await onFirestore(() => loadOrchestration(this.#store, orchestrationId));
    const jobs = await onFirestore(() => readAllJobs(this.#store, orchestrationId, options.status));
    const nowMs = this.#store.clock.now();
    return jobs.map((job) =>
      toJobInfo<P, R>(job, orchestration.sensitiveKeys, waitingReason(job, orchestration, nowMs)),
    );
  }

  /**
   * Waits until every job has ended (real-time listener, no polling) and returns
   * `[successes, failures | null]`: each failure carries its params, the error message and code, the
   * job name, the orchestration id and the job id; `null` when nothing failed. The orchestration's
   * `sensitiveKeys` read `[REDACTED]` in params and results, and their values are redacted from error
   * texts: the caller that needs a secret (to retry by hand) passed it at kick-off.
   * Rejects with `E11_TIMEOUT` after `timeoutMs` (default: no limit). Given the job's handle or class
   * first (`getJobResults(SumSales, id)`), results and params are typed from it, and an orchestration
   * of another job is refused with `E11_INVALID_OPTIONS`.
   */
  getJobResults<J extends AnyJobHandle | JobClassReference<never>>(
    job: J,
    orchestrationId: string,
    options?: { timeoutMs?: number; signal?: AbortSignal },
  ): Promise<JobResults<ResultOf<J>, ParamsOf<J>>>;
  getJobResults<R = unknown, P = JobParams>(
    orchestrationId: string,
    options?: { timeoutMs?: number; signal?: AbortSignal },
  ): Promise<JobResults<R, P>>;
  async getJobResults(
    jobOrId: string | AnyJobHandle | JobClassReference<never>,
    idOrOptions?: string | { timeoutMs?: number; signal?: AbortSignal },
    maybeOptions: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<JobResults> {
    const typed = typeof jobOrId !== 'string';
    const orchestrationId = typed ? idOrOptions : jobOrId;
    const options = (typed ? maybeOptions : idOrOptions) ?? {};
    if (typeof orchestrationId !== 'string' || typeof options !== 'object') {
      throw new E11Error(
        ErrorCode.InvalidOptions,
        'getJobResults: expected (orchestrationId, options?) or (job, orchestrationId, options?).',
        { context: { path: 'orchestrationId' } },
      );
    }
    assertOrchestrationId(orchestrationId);
    const orchestration = await onFirestore(() => loadOrchestration(this.#store, orchestrationId));
    if (typed) this.#assertSameJob(jobOrId, orchestration.jobName, orchestrationId);
    await onFirestore(() => waitForAllTerminal(this.#store, orchestrationId, orchestration.total, options));
    // Read again at the end: a task may have added its class's sensitive keys meanwhile.
    const [jobs, ended] = await onFirestore(() =>
      Promise.all([
        readAllJobs(this.#store, orchestrationId),
        loadOrchestration(this.#store, orchestrationId),
      ]),
    );
    return partitionResults(jobs, ended.sensitiveKeys);
  }

  /**
   * Throws E11_INVALID_OPTIONS when `getJobResults(job, id)` names another job than the orchestration
   * ran: its results would not have the handle's (or class's) types.
   */
  #assertSameJob(
    job: AnyJobHandle | JobClassReference<never>,
    jobName: string,
    orchestrationId: string,
  ): void {
    const { jobName: given } = serviceJobDefinitions(this.#engine).resolve(job, undefined);
    if (given === jobName) return;
    throw new E11Error(
      ErrorCode.InvalidOptions,
      `getJobResults: orchestration ${orchestrationId} ran job '${jobName}', not '${given}'.`,
      { context: { orchestrationId, jobName, path: 'job' } },
    );
  }

  /**
   * Cancels an orchestration: unfinished jobs become `Cancelled`, running Cloud Run executions are
   * cancelled, and the orchestration ends with one JobCompletedEvent whose status is `Cancelled`.
   * Does nothing to an orchestration that already ended.
   */
  cancel(orchestrationId: string): Promise<{ cancelled: number; executions: number }> {
    return this.#engine.cancel(orchestrationId);
  }

  /**
   * Pauses an orchestration: nothing new launches for it — its kick-off's launch, a retryFailed's or a
   * sweep's stop at once, wherever they run — until {@link resume}; running jobs go on and finish, and
   * the jobs held back stay `Pending`. `paused: false` when it had already ended. Idempotent.
   */
  pause(orchestrationId: string): Promise<{ paused: boolean }> {
    return this.#engine.pause(orchestrationId);
  }

  /**
   * Resumes a paused orchestration and launches at once the jobs the pause held back (and any launch
   * lost meanwhile). `resumed: false` when it was not paused.
   */
  resume(orchestrationId: string): Promise<{ resumed: boolean; launched: number }> {
    return this.#engine.resume(orchestrationId);
  }

  /**
   * Pauses a concurrency key (of this service's tenant): no job of any orchestration sharing it is
   * admitted until {@link resumeKey}; running jobs go on and finish. `paused: false` when no kick-off
   * named the key yet. Idempotent.
   */
  pauseKey(key: string): Promise<{ paused: boolean }> {
    return this.#engine.pauseKey(key);
  }

  /** Resumes a paused concurrency key and fills the slots the pause left free at once. */
  resumeKey(key: string): Promise<{ resumed: boolean; launched: number }> {
    return this.#engine.resumeKey(key);
  }

  /**
   * Relaunches failed jobs with their original params — every `Errored` (not discarded) job, or the
   * given `jobIds` — and reopens an ended orchestration in a new epoch, which produces a new
   * JobCompletedEvent when it ends again.
   */
  retryFailed(
    orchestrationId: string,
    options: { jobIds?: readonly string[] } = {},
  ): Promise<{ epoch: number; jobIds: string[]; launch: LaunchReport }> {
    return this.#engine.retryFailed(orchestrationId, options);
  }

  /** Marks dead-lettered jobs (or the given ids) as permanently failed: they leave the dead-letter list. */
  discard(
    orchestrationId: string,
    options: { jobIds?: readonly string[] } = {},
  ): Promise<{ discarded: number }> {
    return this.#engine.discard(orchestrationId, options);
  }

  /**
   * One maintenance pass (crashed tasks, lost launches, deadlines, lost triggers, failed publishes)
   * over every tenant's orchestrations. An operator's task: a tenant-scoped service refuses it with
   * `E11_TENANT_SCOPE` (its relaunches, dead-letters and events would touch other tenants' work); run it
   * from an unscoped service (the deployed sweep function does).
   */
  sweep(options?: SweepOptions): Promise<SweepReport> {
    return this.#engine.sweep(options);
  }

  /** Waits for in-flight background launches, then releases the clients this service created. Single-flight. */
  close(): Promise<void> {
    return this.#engine.close();
  }

  // --- monitoring ---

  /** Live snapshots of an orchestration from Firestore listeners; completes when it ends (see `watchOrchestration`). */
  watch(orchestrationId: string, options?: WatchOptions): Observable<OrchestrationInfo> {
    const invalid = idError(() => assertOrchestrationId(orchestrationId));
    if (invalid) return throwError(() => invalid);
    return watchOrchestration(this.#store, orchestrationId, options);
  }

  /** Per-job transitions of an orchestration from a Firestore listener (see `watchJobs` in monitoring). */
  watchJobs<P extends JobParams = JobParams, R = unknown>(
    orchestrationId: string,
    options?: WatchJobsOptions,
  ): Observable<JobTransition<P, R>> {
    const invalid = idError(() => assertOrchestrationId(orchestrationId));
    if (invalid) return throwError(() => invalid);
    return watchJobs<P, R>(this.#store, orchestrationId, options);
  }

  /** The orchestration history, newest first, with cursor pagination (see `listOrchestrations` in monitoring). */
  listOrchestrations(options?: ListOrchestrationsOptions): Promise<OrchestrationPage> {
    return onFirestore(() => listOrchestrations(this.#store, options));
  }

  /** Per-job-name counts, queue depth and duration percentiles computed from the store (see `getMetrics`). */
  getMetrics(options?: MetricsOptions): Promise<MetricsReport> {
    return onFirestore(() => getMetrics(this.#store, options));
  }

  /** Dead-lettered jobs that were neither retried nor discarded, params redacted (see `listDeadLetters`). */
  listDeadLetters(options?: DeadLetterOptions): Promise<DeadLetter[]> {
    return onFirestore(() => listDeadLetters(this.#store, options));
  }

  /** Retention: deletes ended orchestrations created more than `days` days ago (see `deleteOrchestrationsOlderThan`). */
  deleteOrchestrationsOlderThan(days: number, options?: RetentionOptions): Promise<RetentionReport> {
    return deleteOrchestrationsOlderThan(this.#store, days, options);
  }

  // --- pipelines ---

  /**
   * Starts a pipeline (see `definePipeline`) on `input`: runs its first stage's `params` here (a throw
   * or bad params fail now, with nothing written), records the pipeline and kicks off the first stage.
   * Each later stage starts in the completion function when the one before ends, exactly once, and the
   * pipeline's end publishes one PipelineCompletedEvent. The definition must be registered with this
   * service (`pipelines` option) and with the functions deployment (E11_PIPELINES_MODULE); another
   * fails with `E11_UNKNOWN_PIPELINE`. Tags, tenant and sensitive keys carry to every stage.
   */
  startPipeline<I extends JsonValue>(
    pipeline: PipelineDefinition<I> | string,
    input: I,
    options?: StartPipelineOptions,
  ): Promise<StartPipelineResult> {
    return onFirestore(() => this.#engine.startPipeline(pipeline, input, options));
  }

  /** A pipeline's stages, their orchestrations and status; `E11_UNKNOWN_PIPELINE` if none (or another tenant's). */
  getPipeline(pipelineId: string): Promise<PipelineInfo> {
    return onFirestore(() => getPipelineInfo(this.#store, pipelineId));
  }

  /** The most recent pipelines, newest first (this service's tenant's when scoped). */
  listPipelines(options?: { limit?: number; status?: PipelineStatus }): Promise<PipelineInfo[]> {
    return onFirestore(() => listPipelineInfos(this.#store, options));
  }

  /** Live snapshots of a pipeline from a Firestore listener; completes once it has ended. */
  watchPipeline(pipelineId: string): Observable<PipelineInfo> {
    const invalid = idError(() => assertPipelineId(pipelineId));
    if (invalid) return throwError(() => invalid);
    return watchPipeline(this.#store, pipelineId);
  }

  /**
   * Cancels a running pipeline: it ends `Cancelled` at once with its PipelineCompletedEvent, its running
   * stage's orchestration is cancelled and no later stage starts. `cancelled: false` when it had ended.
   */
  async cancelPipeline(pipelineId: string): Promise<{ cancelled: boolean }> {
    return { cancelled: await this.#engine.cancelPipeline(pipelineId) };
  }

  /**
   * Resumes an `Errored` or `Cancelled` pipeline from the stage it stopped at, in a new epoch: that
   * stage's failed jobs run again with their original params (or its params function runs again when it
   * had failed), then the pipeline goes on; its next end publishes a new PipelineCompletedEvent.
   */
  retryPipeline(pipelineId: string): Promise<{ epoch: number }> {
    return this.#engine.retryPipeline(pipelineId);
  }

  // --- schedules ---

  #schedulesFacade: Schedules | undefined;

  /**
   * Cron schedules of this service's kick-offs (upsert, list, pause, resume, trigger, runs, tick),
   * without Cloud Scheduler wiring; build `new Schedules(service, options)` for that or for
   * `knownJobNames` / `paramsFactories`.
   */
  get schedules(): Schedules {
    return (this.#schedulesFacade ??= new Schedules(this));
  }
}
