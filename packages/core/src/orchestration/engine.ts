import type { Firestore } from '@google-cloud/firestore';
import type { PubSub } from '@google-cloud/pubsub';

import { createFirestore } from '../clients/firestore.js';
import { createPubSub } from '../clients/pubsub.js';
import { type Clock, systemClock } from '../clock.js';
import { createPubSubPublisher, type EventPublisher } from '../completion/event-publisher.js';
import { createTopicCheck, type TopicCheck } from '../completion/topic-check.js';
import { compilePricing, type JobPricing } from '../cost/pricing.js';
import { JobResourcesSource } from '../cost/resources-source.js';
import { compileResourcesOption } from '../cost/resources.js';
import { DEFAULTS } from '../defaults.js';
import { E11Error, ErrorCode } from '../errors.js';
import { bindServiceStore } from '../internal/service-store.js';
import { CloudRunTaskService } from '../launch/cloud-run-task-service.js';
import {
  acquireLaunchRateLimiter,
  type LaunchRateLimiter,
  type LaunchRateLimiterLease,
  launchRateLimiterKey,
} from '../launch/rate-limiter.js';
import { type LaunchPacer, SharedLaunchBudget } from '../launch/shared-budget.js';
import type { TaskLauncher } from '../launch/task-launcher.js';
import { createLogger, type Logger } from '../logging.js';
import { sweep, type SweepOptions, type SweepReport } from '../maintenance/sweeper.js';
import { inFlightBudgetId } from '../model/collections.js';
import type { EndReason } from '../model/documents.js';
import type { JobParams } from '../model/json.js';
import type { JsonValue } from '../model/json.js';
import type { StatusCounts } from '../model/status.js';
import { advancePipeline, type AdvanceOutcome } from '../pipelines/advance-pipeline.js';
import { PipelineRegistry, pipelinesFromEnv } from '../pipelines/definition.js';
import type { PipelineDefinition } from '../pipelines/definition.js';
import type { PipelineContext } from '../pipelines/pipeline-context.js';
import {
  cancelPipeline,
  retryPipeline,
  startPipeline,
  type StartPipelineOptions,
  type StartPipelineResult,
  sweepPipelines,
} from '../pipelines/pipeline-ops.js';
import { assertPipelineId } from '../pipelines/pipeline-views.js';
import { createStore, type Store } from '../store/store.js';
import { assertJobIds, assertOrchestrationId } from '../validate/document-id.js';

import { createAdmissionCoalescer } from './admission-coalescer.js';
import { admitAndLaunch, type AdmitReport } from './admit.js';
import { type CompiledServiceOptions, compileServiceOptions } from './compile-service-options.js';
import { estimateKickOff, type KickOffEstimate } from './estimate.js';
import {
  cancelOrchestration,
  discardJobs,
  enforceEndPolicies,
  type OpsContext,
  retryFailedJobs,
} from './failure-ops.js';
import { JobDefinitions, type JobReference } from './job-definitions.js';
import { kickOff, type KickOffContext, type KickOffResult, validateKickOff } from './kick-off.js';
import type { LaunchContext, LaunchReport } from './launch-jobs.js';
import { type KickOffOptions, type OrchestrationServiceOptions, validateTenant } from './options.js';
import {
  pauseKey,
  pauseOrchestration,
  type PauseResult,
  resumeKey,
  resumeOrchestration,
  type ResumeResult,
} from './pause-ops.js';

/** How an {@link Engine} is built: the same options as the sdk's `OrchestrationService`. */
export type EngineOptions = OrchestrationServiceOptions;

/**
 * The backend engine: what an `OrchestrationService` owns except reads and watches — the store, the
 * launcher, its share of the process-wide launch rate limiter, the logger, the topic check, the event
 * publisher, the known job classes and the compiled options — and what changes state through them:
 * kick-off, cancel, retry, discard, the sweep. The sdk's service wraps one; the Cloud Functions (sweep,
 * scheduler tick) use one directly. Create one per process and `close()` it on shutdown.
 */
export class Engine {
  readonly logger: Logger;
  /** The settings it was built from, validated and with every default filled. */
  readonly settings: CompiledServiceOptions;
  readonly #store: Store;
  readonly #launcher: TaskLauncher;
  readonly #ownsLauncher: boolean;
  readonly #ownsFirestore: boolean;
  readonly #rateLimiter: LaunchRateLimiter;
  /** This engine's share of the process-wide limiter; null for a `forTenant()` view, which uses its parent's. */
  readonly #rateLimiterLease: LaunchRateLimiterLease | null;
  /** The region's run-request budget shared with every process (in Firestore), after #rateLimiter. */
  readonly #pacer: LaunchPacer;
  /** The region's executions-in-flight budget kick-offs admit their jobs through; null without. */
  readonly #inFlightBudget: KickOffContext['inFlightBudget'];
  readonly #inFlight = new Set<Promise<unknown>>();
  /** Aborted by close(): delayed launches still waiting are left to the sweeper. */
  readonly #closingController = new AbortController();
  #closing: Promise<void> | undefined;
  #pubsub: PubSub | undefined;
  #publisher: EventPublisher | undefined;
  readonly #ownsPubSub: boolean;
  readonly #topicCheck: TopicCheck;
  readonly #options: EngineOptions;
  /** The registered job classes (`jobs` option): their declared sensitive keys join every kick-off's. */
  readonly #jobDefinitions: JobDefinitions;
  /** Where kick-offs' CPU and memory come from (shared with `forTenant()` views: one read per Cloud Run job). */
  readonly #resources: JobResourcesSource;
  /** The prices kick-offs record (`pricing`, or the region tier's list prices). */
  readonly #pricing: JobPricing;
  /** The pipelines this engine starts and advances (`pipelines` option, or E11_PIPELINES_MODULE), loaded on first use. */
  #pipelines: Promise<PipelineRegistry> | undefined;

  /**
   * @param shared For `forTenant()` only: the parent's launch rate limiter, so a view adds no share of
   *   its own (views are cheap and often not closed).
   */
  constructor(
    options: EngineOptions = {},
    shared?: { rateLimiter: LaunchRateLimiter; pacer: LaunchPacer; resources: JobResourcesSource },
  ) {
    this.#options = options;
    const settings = compileServiceOptions(options, process.env);
    this.settings = settings;
    this.#jobDefinitions = new JobDefinitions(options.jobs);
    this.#pubsub = options.pubsub;
    this.#publisher = options.publisher;
    this.#ownsPubSub = options.pubsub === undefined;
    const firestore: Firestore =
      options.firestore ??
      createFirestore({ projectId: settings.projectId, databaseId: settings.databaseId });
    if (options.databaseId !== undefined && firestore.databaseId !== settings.databaseId) {
      throw new E11Error(
        ErrorCode.InvalidOptions,
        `databaseId: '${options.databaseId}' differs from the database of the given firestore client ('${firestore.databaseId}').`,
        { context: { path: 'databaseId' } },
      );
    }
    const clock: Clock = options.clock ?? systemClock;
    this.#ownsFirestore = options.firestore === undefined;
    this.#store = createStore({
      firestore,
      collectionPrefix: settings.collectionPrefix,
      clock,
      tenant: settings.tenant,
    });
    bindServiceStore(this, { store: this.#store, jobs: this.#jobDefinitions });
    this.logger = options.logger ?? createLogger('e11-engine');
    this.#launcher =
      options.launcher ??
      new CloudRunTaskService({
        projectId: settings.projectId,
        region: settings.region,
        endpoint: settings.cloudRunEndpoint,
      });
    this.#ownsLauncher = options.launcher === undefined;
    // One limiter per project and region in this process (the run-job quota is the region's), shared
    // with every other service, tenant view, schedule fire and sweep launching there; behind it, one
    // budget per project and region in Firestore, shared with every other process.
    const project = settings.projectId ?? this.#firestoreProjectId();
    this.#rateLimiterLease = shared
      ? null
      : acquireLaunchRateLimiter(
          launchRateLimiterKey(project, settings.region),
          settings.launch.ratePerMinute,
        );
    this.#rateLimiter = shared?.rateLimiter ?? (this.#rateLimiterLease as LaunchRateLimiterLease).limiter;
    this.#pacer =
      shared?.pacer ??
      new SharedLaunchBudget(
        // Without a known project (resolved later from credentials) the database's own project is meant.
        this.#store.collections.launchBudget(project ?? '-', settings.region),
        this.#rateLimiter,
        this.logger,
        settings.launch.burst,
      );
    this.#inFlightBudget =
      settings.launch.maxExecutionsInFlight === null
        ? null
        : {
            id: inFlightBudgetId(project ?? '-', settings.region),
            limit: settings.launch.maxExecutionsInFlight,
          };
    this.#topicCheck = createTopicCheck(() => this.#topicPubSub(), this.logger);
    // '-' stands for "no region named" (a given launcher without one): priced as Tier 1.
    this.#pricing = compilePricing(options.pricing, settings.region === '-' ? undefined : settings.region);
    const launcher = this.#launcher;
    this.#resources =
      shared?.resources ??
      new JobResourcesSource(
        compileResourcesOption(options.resources),
        launcher.jobLimits
          ? (service) => launcher.jobLimits?.(service) ?? Promise.resolve(undefined)
          : undefined,
        this.logger,
      );
  }

  /**
   * The same engine scoped to one tenant: it shares this engine's clients and launcher, stamps its
   * kick-offs with the tenant, and cannot act on other tenants' orchestrations. A scoped engine cannot
   * leave its scope: `forTenant()` of its own tenant returns the engine itself, of any other tenant
   * throws `E11_TENANT_SCOPE`.
   */
  forTenant(tenant: string): Engine {
    const scope = this.#store.tenant;
    if (scope !== null) {
      if (validateTenant(tenant) === scope) return this;
      throw new E11Error(
        ErrorCode.TenantScope,
        `This service is scoped to tenant '${scope}': it cannot act for another tenant.`,
        { context: { tenant: scope } },
      );
    }
    return new Engine(
      {
        ...this.#options,
        firestore: this.#store.firestore,
        launcher: this.#launcher,
        pubsub: this.#pubsub,
        publisher: this.#publisher,
        logger: this.logger,
        clock: this.#store.clock,
        tenant,
      },
      { rateLimiter: this.#rateLimiter, pacer: this.#pacer, resources: this.#resources },
    );
  }

  /**
   * Starts a registered pipeline on `input` (see `startPipeline`): its first stage's params are
   * computed and its orchestration kicked off here; each later stage starts in the completion function
   * when the one before ends.
   */
  async startPipeline(
    definition: PipelineDefinition | string,
    input: JsonValue,
    options?: StartPipelineOptions,
  ): Promise<StartPipelineResult> {
    return startPipeline(await this.#pipelineContext(), definition, input, options);
  }

  /**
   * Moves a pipeline as far as it can go now (see `advancePipeline`), waiting for the launches of a
   * stage it starts; the completion function and the sweeper call it.
   */
  async advancePipeline(pipelineId: string): Promise<AdvanceOutcome> {
    assertPipelineId(pipelineId);
    return advancePipeline(await this.#pipelineContext(), pipelineId, { awaitLaunch: true });
  }

  /** Cancels a pipeline and its running stage (see `cancelPipeline`); false when it had already ended. */
  async cancelPipeline(pipelineId: string): Promise<boolean> {
    assertPipelineId(pipelineId);
    return cancelPipeline(await this.#pipelineContext(), pipelineId);
  }

  /** Resumes an Errored or Cancelled pipeline from the stage it stopped at (see `retryPipeline`). */
  async retryPipeline(pipelineId: string): Promise<{ epoch: number }> {
    assertPipelineId(pipelineId);
    return retryPipeline(await this.#pipelineContext(), pipelineId);
  }

  /**
   * Runs `job` once per parameter set: validate → register → launch (see `kickOff` in kick-off.ts).
   * With `dryRun: true`, validates only and returns an estimate (see `estimateKickOff`).
   */
  kickOffJob(
    job: JobReference,
    params: readonly JobParams[],
    options: KickOffOptions & { dryRun: true },
  ): Promise<KickOffEstimate>;
  kickOffJob(
    job: JobReference,
    params: readonly JobParams[],
    options?: KickOffOptions & { dryRun?: false },
  ): Promise<KickOffResult>;
  kickOffJob(
    job: JobReference,
    params: readonly JobParams[],
    options?: KickOffOptions,
  ): Promise<KickOffResult | KickOffEstimate>;
  kickOffJob(
    job: JobReference,
    params: readonly JobParams[],
    options?: KickOffOptions,
  ): Promise<KickOffResult | KickOffEstimate> {
    if (options?.dryRun === true) return estimateKickOff(this.#kickOffContext(), job, params, options);
    return kickOff(this.#kickOffContext(), job, params, options);
  }

  /**
   * Ends an orchestration early when its `maxFailures` or `successPolicy` says so (see
   * `enforceEndPolicies`). The completion function calls it on each job's end of such an orchestration.
   */
  enforceEndPolicies(orchestrationId: string, counts?: StatusCounts): Promise<EndReason | null> {
    return this.#track(enforceEndPolicies(this.#opsContext(), orchestrationId, counts));
  }

  /** Cancels an orchestration (see `cancelOrchestration`). */
  async cancel(orchestrationId: string): Promise<{ cancelled: number; executions: number }> {
    assertOrchestrationId(orchestrationId);
    return cancelOrchestration(this.#opsContext(), orchestrationId);
  }

  /** Relaunches failed jobs and reopens an ended orchestration in a new epoch (see `retryFailedJobs`). */
  async retryFailed(
    orchestrationId: string,
    options: { jobIds?: readonly string[] } = {},
  ): Promise<{ epoch: number; jobIds: string[]; launch: LaunchReport }> {
    assertOrchestrationId(orchestrationId);
    if (options.jobIds !== undefined) assertJobIds(orchestrationId, options.jobIds);
    return retryFailedJobs(this.#opsContext(), orchestrationId, {
      jobIds: options.jobIds,
      concurrency: this.settings.launch.concurrency,
    });
  }

  /** Stops launching an orchestration's jobs until `resume()` (see `pauseOrchestration`). */
  async pause(orchestrationId: string): Promise<PauseResult> {
    assertOrchestrationId(orchestrationId);
    return pauseOrchestration(this.#launchContext(), orchestrationId);
  }

  /** Stops a concurrency key's admissions until `resumeKey()` (see `pauseKey`). */
  async pauseKey(key: string): Promise<PauseResult> {
    return pauseKey(this.#launchContext(), key);
  }

  /** Lifts a concurrency key's pause and fills its free slots (see `resumeKey`). */
  async resumeKey(key: string): Promise<ResumeResult> {
    return this.#track(resumeKey(this.#launchContext(), key));
  }

  /** Lifts a pause and launches what it held back (see `resumeOrchestration`). */
  async resume(orchestrationId: string): Promise<ResumeResult> {
    assertOrchestrationId(orchestrationId);
    return resumeOrchestration(this.#launchContext(), orchestrationId);
  }

  /**
   * Fills the free slots of a `maxParallel` orchestration: admits and launches its next jobs (see
   * `admitAndLaunch`). The completion function calls it on each job's end, with the counts its
   * completion check just read; the sweeper and `resume()` do it themselves.
   */
  async admitWaiting(orchestrationId: string, counts?: StatusCounts): Promise<AdmitReport> {
    assertOrchestrationId(orchestrationId);
    return this.#admit(orchestrationId, counts);
  }

  /** Admissions of this engine, one at a time per orchestration (see createAdmissionCoalescer). */
  readonly #admit = createAdmissionCoalescer((orchestrationId, counts) =>
    this.#track(admitAndLaunch(this.#launchContext(), orchestrationId, counts)),
  );

  /** Marks dead-lettered jobs (or the given ids) as permanently failed (see `discardJobs`). */
  async discard(
    orchestrationId: string,
    options: { jobIds?: readonly string[] } = {},
  ): Promise<{ discarded: number }> {
    assertOrchestrationId(orchestrationId);
    if (options.jobIds !== undefined) assertJobIds(orchestrationId, options.jobIds);
    return discardJobs({ store: this.#store }, orchestrationId, options);
  }

  /**
   * One maintenance pass over every tenant's orchestrations. A tenant-scoped engine refuses it with
   * `E11_TENANT_SCOPE` (its relaunches, dead-letters and events would touch other tenants' work).
   */
  async sweep(options?: SweepOptions): Promise<SweepReport> {
    const scope = this.#store.tenant;
    if (scope !== null) {
      throw new E11Error(
        ErrorCode.TenantScope,
        `This service is scoped to tenant '${scope}': sweep() acts on every tenant; run it unscoped.`,
        { context: { tenant: scope } },
      );
    }
    const context = this.#launchContext();
    const retryBudgetMs = Math.min(context.launch.retryBudgetMs, DEFAULTS.sweepLaunchRetryBudgetMs);
    const report = await sweep(
      { ...context, launch: { ...context.launch, retryBudgetMs }, publisher: this.#eventPublisher() },
      options,
    );
    const pipelines = await this.#pipelineContext();
    return { ...report, pipelines: pipelines.registry.size === 0 ? 0 : await sweepPipelines(pipelines) };
  }

  /** Waits for in-flight background launches, then releases the clients this engine created. Single-flight. */
  close(): Promise<void> {
    return (this.#closing ??= (async () => {
      this.#closingController.abort();
      await Promise.allSettled([...this.#inFlight]);
      this.#rateLimiterLease?.release();
      if (this.#ownsLauncher) await this.#launcher.close();
      if (this.#ownsPubSub && this.#pubsub) await this.#pubsub.close();
      if (this.#ownsFirestore) await this.#store.firestore.terminate();
    })());
  }

  #launchContext(): LaunchContext {
    return {
      store: this.#store,
      launcher: this.#launcher,
      logger: this.logger,
      launch: this.settings.launch,
      rateLimiter: this.#pacer,
    };
  }

  #kickOffContext(): KickOffContext {
    return {
      ...this.#launchContext(),
      jobs: this.#jobDefinitions,
      serviceName: this.settings.serviceName,
      defaultTopic: this.settings.defaultTopic,
      maxJobs: this.settings.maxJobsPerOrchestration,
      topicCheck: this.#topicCheck,
      track: (promise) => this.#track(promise),
      closing: this.#closingController.signal,
      inFlightBudget: this.#inFlightBudget,
      cost: { resources: this.#resources, pricing: this.#pricing },
    };
  }

  async #pipelineContext(): Promise<PipelineContext> {
    this.#pipelines ??=
      this.#options.pipelines !== undefined
        ? Promise.resolve(new PipelineRegistry(this.#options.pipelines))
        : pipelinesFromEnv();
    const registry = await this.#pipelines;
    return {
      store: this.#store,
      registry,
      publisher: this.#eventPublisher(),
      logger: this.logger,
      defaultTopic: this.settings.defaultTopic,
      leaseMs: DEFAULTS.publishRetryAfterMs,
      engineFor: (tenant) => {
        const engine = tenant === null || tenant === this.#store.tenant ? this : this.forTenant(tenant);
        return {
          kickOffStage: (job, params, options, pipeline) =>
            kickOff(engine.#kickOffContext(), job, params, options, pipeline),
          declaredSensitiveKeys: (job) =>
            engine.#jobDefinitions.resolve(job, undefined).declared?.sensitiveKeys ?? [],
          validateStage: async (job, params, options) => {
            await validateKickOff(engine.#kickOffContext(), job, params, options);
          },
          cancel: (orchestrationId) => engine.cancel(orchestrationId),
          retryFailed: (orchestrationId, options) => engine.retryFailed(orchestrationId, options),
        };
      },
    };
  }

  #opsContext(): OpsContext {
    return { ...this.#launchContext(), publisher: this.#eventPublisher() };
  }

  #eventPublisher(): EventPublisher {
    if (!this.#publisher) {
      this.#pubsub ??= createPubSub({ projectId: this.settings.projectId ?? this.#firestoreProjectId() });
      this.#publisher = createPubSubPublisher(this.#pubsub);
    }
    return this.#publisher;
  }

  /** The Pub/Sub client events go through; undefined when a custom publisher was injected without one. */
  #topicPubSub(): PubSub | undefined {
    if (this.#pubsub) return this.#pubsub;
    if (this.#options.publisher) return undefined;
    return (this.#pubsub = createPubSub({
      projectId: this.settings.projectId ?? this.#firestoreProjectId(),
    }));
  }

  /** The project the Firestore client was built for, when it is known without a lookup. */
  #firestoreProjectId(): string | undefined {
    try {
      // Set when the client was built with a project id (always so for emulator clients); not in the typings.
      return (this.#store.firestore as unknown as { projectId: string }).projectId;
    } catch {
      return undefined;
    }
  }

  #track<T>(promise: Promise<T>): Promise<T> {
    this.#inFlight.add(promise);
    const forget = () => this.#inFlight.delete(promise);
    promise.then(forget, forget);
    return promise;
  }
}

/** Builds an {@link Engine} (see `EngineOptions`). */
export function createEngine(options: EngineOptions = {}): Engine {
  return new Engine(options);
}
