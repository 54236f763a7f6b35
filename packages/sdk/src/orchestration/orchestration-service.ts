import { randomUUID } from 'node:crypto';

import {
  type Clock,
  systemClock,
  createPubSubPublisher,
  type EventPublisher,
  DEFAULTS,
  E11Error,
  ErrorCode,
  idempotentOrchestrationId,
  jobIdFor,
  createLogger,
  type Logger,
  type OrchestrationDoc,
  orchestrationDocSchema,
  type JobParams,
  parseDocument,
  type JobStatus,
  readCounts,
  loadJob,
  loadOrchestration,
  registerOrchestration,
  createStore,
  markLaunchCompleted,
  markLaunchStarted,
  recordLaunchHeartbeat,
  type Store,
  assertJobId,
  assertJobIds,
  assertOrchestrationId,
  type ServiceNameMapping,
  serviceNameFor,
  validateParamsList,
} from '@e11/core';
import { type Firestore, Timestamp } from '@google-cloud/firestore';
import type { PubSub } from '@google-cloud/pubsub';
import { type Observable, throwError } from 'rxjs';

import { createFirestore, createPubSub, resolveDatabaseId, resolveProjectId } from '../clients.js';
import { createTopicCheck, type TopicCheck } from '../completion/topic-check.js';
import { bindServiceStore } from '../internal/service-store.js';
import { CloudRunTaskService } from '../launch/cloud-run-task-service.js';
import {
  acquireLaunchRateLimiter,
  type LaunchRateLimiter,
  type LaunchRateLimiterLease,
  launchRateLimiterKey,
} from '../launch/rate-limiter.js';
import type { TaskLauncher } from '../launch/task-launcher.js';
import { sweep, type SweepOptions, type SweepReport } from '../maintenance/sweeper.js';
import { type DeadLetter, type DeadLetterOptions, listDeadLetters } from '../monitoring/dead-letters.js';
import type { JobTransition } from '../monitoring/job-changes.js';
import {
  listOrchestrations,
  type ListOrchestrationsOptions,
  type OrchestrationPage,
} from '../monitoring/list-orchestrations.js';
import { getMetrics, type MetricsOptions, type MetricsReport } from '../monitoring/metrics.js';
import {
  deleteOrchestrationsOlderThan,
  type RetentionOptions,
  type RetentionReport,
} from '../monitoring/retention.js';
import { watchJobs, type WatchJobsOptions } from '../monitoring/watch-jobs.js';
import { watchOrchestration, type WatchOptions } from '../monitoring/watch-orchestration.js';
import { Schedules } from '../schedules/schedules.js';

import { cancelOrchestration, discardJobs, type OpsContext, retryFailedJobs } from './failure-ops.js';
import {
  type JobClassReference,
  JobDefinitions,
  type JobReference,
  type ParamsOf,
} from './job-definitions.js';
import { type LaunchContext, type LaunchReport, launchJobs } from './launch-jobs.js';
import {
  type CompiledLaunchOptions,
  compileKickOffOptions,
  compileLaunchOptions,
  type KickOffOptions,
  type OrchestrationServiceOptions,
  validateTenant,
  validateTopic,
} from './options.js';
import { type JobResults, partitionResults, readAllJobs, waitForAllTerminal } from './results.js';
import { type JobInfo, type OrchestrationInfo, toJobInfo, toOrchestrationInfo } from './views.js';

/** What `kickOffJob` returns. */
export interface KickOffResult {
  orchestrationId: string;
  /** One UUID per parameter set, in the same order. */
  jobIds: string[];
  /** True when an idempotency key matched an earlier kick-off: nothing new was launched. */
  deduplicated: boolean;
  /** The launch outcome; with `background: true` it settles later (see `launched`). */
  launch: LaunchReport | null;
  /** Settles when every launch of this call is done (immediately for a deduplicated call). */
  launched: Promise<LaunchReport | null>;
}

/** The error an id check throws, or undefined (for the methods that report errors through an Observable). */
function idError(check: () => void): Error | undefined {
  try {
    check();
    return undefined;
  } catch (error) {
    return error as Error;
  }
}

/** Times a kick-off registers afresh after its duplicate's orchestration was removed mid-registration. */
const DUPLICATE_REGISTRATION_ROUNDS = 3;

/**
 * The backend-facing facade: kicks off orchestrations (one job per parameter set, one Cloud Run task
 * execution per job, or one execution for all in array mode), reads their state, and waits for
 * results. Create one per process and `close()` it on shutdown.
 */
export class OrchestrationService {
  /** The Firestore state; never exposed (the package's own modules read it through `serviceStore`). */
  readonly #store: Store;
  readonly logger: Logger;
  readonly #launcher: TaskLauncher;
  readonly #ownsLauncher: boolean;
  readonly #ownsFirestore: boolean;
  readonly #launchOptions: CompiledLaunchOptions;
  readonly #rateLimiter: LaunchRateLimiter;
  /** This service's share of the process-wide limiter; null for a `forTenant()` view, which uses its parent's. */
  readonly #rateLimiterLease: LaunchRateLimiterLease | null;
  readonly #serviceName: ServiceNameMapping | undefined;
  readonly #defaultTopic: string;
  readonly #maxJobs: number;
  readonly #inFlight = new Set<Promise<unknown>>();
  #closing: Promise<void> | undefined;
  readonly #projectId: string | undefined;
  #pubsub: PubSub | undefined;
  #publisher: EventPublisher | undefined;
  readonly #ownsPubSub: boolean;
  readonly #topicCheck: TopicCheck;

  readonly #options: OrchestrationServiceOptions;
  /** The registered job classes (`jobs` option): their declared sensitive keys join every kick-off's. */
  readonly #jobDefinitions: JobDefinitions;

  /**
   * @param shared For `forTenant()` only: the parent's launch rate limiter, so a view adds no share of
   *   its own (views are cheap and often not closed).
   */
  constructor(options: OrchestrationServiceOptions = {}, shared?: { rateLimiter: LaunchRateLimiter }) {
    this.#options = options;
    this.#jobDefinitions = new JobDefinitions(options.jobs);
    const projectId = resolveProjectId(options.projectId);
    this.#projectId = projectId;
    this.#pubsub = options.pubsub;
    this.#publisher = options.publisher;
    this.#ownsPubSub = options.pubsub === undefined;
    const firestore: Firestore =
      options.firestore ?? createFirestore({ projectId, databaseId: options.databaseId });
    if (options.databaseId !== undefined && firestore.databaseId !== resolveDatabaseId(options.databaseId)) {
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
      collectionPrefix:
        options.collectionPrefix ?? process.env.E11_COLLECTION_PREFIX ?? DEFAULTS.collectionPrefix,
      clock,
      tenant: validateTenant(options.tenant),
    });
    bindServiceStore(this, { store: this.#store, jobs: this.#jobDefinitions });
    this.logger = options.logger ?? createLogger('e11-sdk');
    this.#launcher =
      options.launcher ??
      new CloudRunTaskService({ projectId, region: options.region, endpoint: options.cloudRunEndpoint });
    this.#ownsLauncher = options.launcher === undefined;
    this.#launchOptions = compileLaunchOptions(options.launch);
    // One limiter per project and region in this process (the run-job quota is the region's), shared
    // with every other service, tenant view, schedule fire and sweep launching there.
    this.#rateLimiterLease = shared
      ? null
      : acquireLaunchRateLimiter(
          launchRateLimiterKey(
            projectId ?? this.#firestoreProjectId(),
            options.region ?? process.env.E11_REGION ?? DEFAULTS.region,
          ),
          this.#launchOptions.ratePerMinute,
        );
    this.#rateLimiter = shared?.rateLimiter ?? (this.#rateLimiterLease as LaunchRateLimiterLease).limiter;
    this.#serviceName = options.serviceName;
    this.#defaultTopic = validateTopic(
      options.defaultTopic ?? process.env.E11_TOPIC ?? DEFAULTS.topic,
      'defaultTopic',
    );
    this.#maxJobs = options.maxJobsPerOrchestration ?? DEFAULTS.maxJobsPerOrchestration;
    this.#topicCheck = createTopicCheck(() => this.#topicPubSub(), this.logger);
  }

  /**
   * The same service scoped to one tenant: it shares this service's clients and launcher, stamps its
   * kick-offs with the tenant, and cannot read, watch, cancel or retry other tenants' orchestrations.
   * A scoped service cannot leave its scope: `forTenant()` of its own tenant returns the service itself,
   * of any other tenant throws `E11_TENANT_SCOPE`.
   */
  forTenant(tenant: string): OrchestrationService {
    const scope = this.#store.tenant;
    if (scope !== null) {
      if (validateTenant(tenant) === scope) return this;
      throw new E11Error(
        ErrorCode.TenantScope,
        `This service is scoped to tenant '${scope}': it cannot act for another tenant.`,
        { context: { tenant: scope } },
      );
    }
    return new OrchestrationService(
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
      { rateLimiter: this.#rateLimiter },
    );
  }

  /**
   * Runs `jobName` once per parameter set. Validates everything first (nothing is written for bad
   * input), registers the orchestration and its params (in chunk documents of up to 100 sets; a job's
   * own document is written at its first change) in batched writes, then launches the tasks with
   * bounded concurrency, the launch rate limit and retries. A permanent launch failure ends exactly the
   * affected jobs `Errored`; a quota (429) or 503 window only delays them (they stay `Pending`, and the
   * sweeper launches what the retry budget or an aborted `signal` left). `cancel()` stops the launching.
   * With an `idempotencyKey`, a repeated or concurrent call returns the same orchestration and launches
   * nothing. `job` is the job's name or its `@JobName` class (params then type-checked against its
   * `run`); the class's declared `sensitiveKeys` (or a registered class's, see the `jobs` option) are
   * stored with the orchestration together with `options.sensitiveKeys`.
   */
  kickOffJob<C extends JobClassReference<never>>(
    job: C,
    params: readonly ParamsOf<C>[],
    options?: KickOffOptions,
  ): Promise<KickOffResult>;
  kickOffJob<P extends JobParams>(
    job: string,
    params: readonly P[],
    options?: KickOffOptions,
  ): Promise<KickOffResult>;
  async kickOffJob(
    job: JobReference,
    params: readonly JobParams[],
    kickOffOptions?: KickOffOptions,
  ): Promise<KickOffResult> {
    const { jobName, options } = this.#jobDefinitions.resolve(job, kickOffOptions);
    const service = serviceNameFor(jobName, this.#serviceName);
    const compiled = compileKickOffOptions(options, {
      topic: this.#defaultTopic,
      launchConcurrency: this.#launchOptions.concurrency,
    });
    validateParamsList(params, { maxJobs: this.#maxJobs, maxParamsBytes: DEFAULTS.maxParamsBytes });
    // The event is promised on this topic: a missing one fails here, before anything is written.
    await this.#topicCheck.check(compiled.topic);

    const { prefix } = this.#store.collections;
    const orchestrationId =
      compiled.idempotencyKey === null
        ? randomUUID()
        : idempotentOrchestrationId(prefix, this.#store.tenant, compiled.idempotencyKey);
    const jobIds = params.map((_, index) => jobIdFor(orchestrationId, index));
    const createdAtMs = this.#store.clock.now();
    const registration = {
      orchestration: {
        id: orchestrationId,
        jobName,
        service,
        tags: this.#store.tenant === null ? compiled.tags : { ...compiled.tags, tenant: this.#store.tenant },
        tenant: this.#store.tenant,
        topic: compiled.topic,
        mode: compiled.mode,
        policy: compiled.policy,
        idempotencyKey: compiled.idempotencyKey,
        sensitiveKeys: compiled.sensitiveKeys,
        deadlineAt:
          compiled.policy.orchestrationTimeoutMs === null
            ? null
            : Timestamp.fromMillis(createdAtMs + compiled.policy.orchestrationTimeoutMs),
      },
      params,
    };
    // An existing orchestration is this kick-off's duplicate; if it disappears while its registration is
    // awaited (that registration failed and removed itself, or the sweeper removed an abandoned one),
    // this call registers afresh.
    let registered: Awaited<ReturnType<typeof registerOrchestration>>;
    for (
      let round = 1;
      !(registered = await registerOrchestration(this.#store, registration)).created;
      round++
    ) {
      const context = { orchestrationId, idempotencyKey: compiled.idempotencyKey };
      this.logger.debug(
        context,
        'idempotency key already used: waiting for that kick-off to register its jobs',
      );
      if (await this.#awaitRegistered(orchestrationId, jobName, params.length)) {
        const launched = Promise.resolve(null);
        return { orchestrationId, jobIds, deduplicated: true, launch: null, launched };
      }
      this.logger.warn(
        context,
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

    // A transient failure of these marks (e.g. while duplicate kick-offs hit the same document) is
    // retried instead of failing a kick-off whose jobs exist.
    await markLaunchStarted(this.#store, orchestrationId);
    // A long launch (thousands of jobs under the Admin API's rate limit) keeps saying it is alive, so
    // the sweeper can tell it from a backend that died mid-launch.
    const launchHeartbeat = setInterval(() => {
      recordLaunchHeartbeat(this.#store, orchestrationId).catch(() => undefined);
    }, DEFAULTS.launchHeartbeatMs);
    launchHeartbeat.unref();
    const launched = this.#track(
      launchJobs(this.#launchContext(), {
        orchestration: {
          id: orchestrationId,
          jobName,
          service,
          mode: compiled.mode,
          policy: compiled.policy,
        },
        jobs: jobIds.map((id, index) => ({ id, index })),
        // The params just registered, from memory: the launch reads none back.
        unwritten: registered.created ? registered.unwritten : undefined,
        concurrency: compiled.launchConcurrency,
        ...(compiled.signal ? { signal: compiled.signal } : {}),
      })
        .then(async (report) => {
          // Only when every job was launched or ended: jobs left Pending stay the sweeper's to launch once
          // this kick-off is silent (its "launcher gone" rule). Failing to say so has the same effect.
          if (report.deferred === 0) {
            await markLaunchCompleted(this.#store, orchestrationId).catch((error: unknown) =>
              this.logger.warn(
                { err: (error as Error).message, orchestrationId },
                'could not mark the launch complete; the sweeper will check the jobs still Pending',
              ),
            );
          }
          return report;
        })
        .finally(() => clearInterval(launchHeartbeat)),
    );
    if (compiled.background) {
      launched.catch((error: unknown) =>
        this.logger.error({ err: error, orchestrationId }, 'background launch failed'),
      );
      return { orchestrationId, jobIds, deduplicated: false, launch: null, launched };
    }
    const launch = await launched;
    return { orchestrationId, jobIds, deduplicated: false, launch, launched };
  }

  /** An orchestration with live counts; `E11_UNKNOWN_ORCHESTRATION` if none. */
  async getOrchestration(orchestrationId: string): Promise<OrchestrationInfo> {
    assertOrchestrationId(orchestrationId);
    const [doc, counts] = await Promise.all([
      loadOrchestration(this.#store, orchestrationId),
      readCounts(this.#store, orchestrationId),
    ]);
    return toOrchestrationInfo(doc, counts);
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
    const orchestration = await loadOrchestration(this.#store, orchestrationId);
    const job = await loadJob(this.#store, orchestrationId, jobId, { orchestration });
    return toJobInfo<P, R>(job, orchestration.sensitiveKeys);
  }

  /** The jobs of an orchestration in index order (redacted as `getJob`), optionally only those with `status`. */
  async listJobs<P extends JobParams = JobParams, R = unknown>(
    orchestrationId: string,
    options: { status?: JobStatus } = {},
  ): Promise<JobInfo<P, R>[]> {
    assertOrchestrationId(orchestrationId);
    const { sensitiveKeys } = await loadOrchestration(this.#store, orchestrationId);
    const jobs = await readAllJobs(this.#store, orchestrationId, options.status);
    return jobs.map((job) => toJobInfo<P, R>(job, sensitiveKeys));
  }

  /**
   * Waits until every job has ended (real-time listener, no polling) and returns
   * `[successes, failures | null]`: each failure carries its params, the error message and code, the
   * job name, the orchestration id and the job id; `null` when nothing failed. The orchestration's
   * `sensitiveKeys` read `[REDACTED]` in params and results, and their values are redacted from error
   * texts: the caller that needs a secret (to retry by hand) passed it at kick-off.
   * Rejects with `E11_TIMEOUT` after `timeoutMs` (default: no limit).
   */
  async getJobResults<R = unknown, P extends JobParams = JobParams>(
    orchestrationId: string,
    options: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<JobResults<R, P>> {
    assertOrchestrationId(orchestrationId);
    const orchestration = await loadOrchestration(this.#store, orchestrationId);
    await waitForAllTerminal(this.#store, orchestrationId, orchestration.total, options);
    // Read again at the end: a task may have added its class's sensitive keys meanwhile.
    const [jobs, ended] = await Promise.all([
      readAllJobs(this.#store, orchestrationId),
      loadOrchestration(this.#store, orchestrationId),
    ]);
    return partitionResults<R, P>(jobs, ended.sensitiveKeys);
  }

  /**
   * Cancels an orchestration: unfinished jobs become `Cancelled`, running Cloud Run executions are
   * cancelled, and the orchestration ends with one JobCompletedEvent whose status is `Cancelled`.
   * Does nothing to an orchestration that already ended.
   */
  async cancel(orchestrationId: string): Promise<{ cancelled: number; executions: number }> {
    assertOrchestrationId(orchestrationId);
    return cancelOrchestration(this.#opsContext(), orchestrationId);
  }

  /**
   * Relaunches failed jobs with their original params — every `Errored` (not discarded) job, or the
   * given `jobIds` — and reopens an ended orchestration in a new epoch, which produces a new
   * JobCompletedEvent when it ends again.
   */
  async retryFailed(
    orchestrationId: string,
    options: { jobIds?: readonly string[] } = {},
  ): Promise<{ epoch: number; jobIds: string[]; launch: LaunchReport }> {
    assertOrchestrationId(orchestrationId);
    if (options.jobIds !== undefined) assertJobIds(orchestrationId, options.jobIds);
    return retryFailedJobs(this.#opsContext(), orchestrationId, {
      jobIds: options.jobIds,
      concurrency: this.#launchOptions.concurrency,
    });
  }

  /** Marks dead-lettered jobs (or the given ids) as permanently failed: they leave the dead-letter list. */
  async discard(
    orchestrationId: string,
    options: { jobIds?: readonly string[] } = {},
  ): Promise<{ discarded: number }> {
    assertOrchestrationId(orchestrationId);
    if (options.jobIds !== undefined) assertJobIds(orchestrationId, options.jobIds);
    return discardJobs({ store: this.#store }, orchestrationId, options);
  }

  /**
   * One maintenance pass (crashed tasks, lost launches, deadlines, lost triggers, failed publishes)
   * over every tenant's orchestrations. An operator's task: a tenant-scoped service refuses it with
   * `E11_TENANT_SCOPE` (its relaunches, dead-letters and events would touch other tenants' work); run it
   * from an unscoped service (the deployed sweep function does).
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
    return sweep(
      { ...context, launch: { ...context.launch, retryBudgetMs }, publisher: this.#eventPublisher() },
      options,
    );
  }

  /** Waits for in-flight background launches, then releases the clients this service created. Single-flight. */
  close(): Promise<void> {
    return (this.#closing ??= (async () => {
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
      launch: this.#launchOptions,
      rateLimiter: this.#rateLimiter,
    };
  }

  #eventPublisher(): EventPublisher {
    if (!this.#publisher) {
      this.#pubsub ??= createPubSub({ projectId: this.#projectId ?? this.#firestoreProjectId() });
      this.#publisher = createPubSubPublisher(this.#pubsub);
    }
    return this.#publisher;
  }

  /** The Pub/Sub client events go through; undefined when a custom publisher was injected without one. */
  #topicPubSub(): PubSub | undefined {
    if (this.#pubsub) return this.#pubsub;
    if (this.#options.publisher) return undefined;
    return (this.#pubsub = createPubSub({ projectId: this.#projectId ?? this.#firestoreProjectId() }));
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

  #opsContext(): OpsContext {
    return { ...this.#launchContext(), publisher: this.#eventPublisher() };
  }

  #track<T>(promise: Promise<T>): Promise<T> {
    this.#inFlight.add(promise);
    const forget = () => this.#inFlight.delete(promise);
    promise.then(forget, forget);
    return promise;
  }

  /**
   * For a kick-off whose orchestration already exists: checks it is the same kick-off (same tenant, job
   * name and size; `E11_INVALID_OPTIONS` at once otherwise, saying nothing about another tenant's
   * orchestration), then waits until the first call registered every
   * job. Resolves `null` when the orchestration is deleted meanwhile.
   */
  async #awaitRegistered(
    orchestrationId: string,
    jobName: string,
    total: number,
  ): Promise<OrchestrationDoc | null> {
    const ref = this.#store.collections.orchestration(orchestrationId);
    return new Promise<OrchestrationDoc | null>((resolve, reject) => {
      const settle = (finish: () => void) => {
        clearTimeout(timer);
        unsubscribe();
        finish();
      };
      const timer = setTimeout(() => {
        settle(() =>
          reject(
            new E11Error(ErrorCode.Timeout, `Orchestration ${orchestrationId} was not registered in time.`, {
              retryable: true,
            }),
          ),
        );
      }, DEFAULTS.duplicateRegistrationWaitMs);
      const unsubscribe = ref.onSnapshot(
        (snapshot) => {
          if (!snapshot.exists) {
            settle(() => resolve(null));
            return;
          }
          let current: OrchestrationDoc;
          try {
            current = parseDocument(orchestrationDocSchema, snapshot);
          } catch (error) {
            settle(() => reject(error instanceof Error ? error : new Error(String(error))));
            return;
          }
          if (current.tenant !== this.#store.tenant) {
            // Another tenant's orchestration at this id (a crafted collision, or an unscoped service's
            // data): never a duplicate of this kick-off, and nothing about it may be told.
            settle(() =>
              reject(
                new E11Error(
                  ErrorCode.InvalidOptions,
                  'idempotencyKey already used; a different kick-off needs a different key.',
                  { context: { path: 'idempotencyKey' } },
                ),
              ),
            );
            return;
          }
          if (current.jobName !== jobName || current.total !== total) {
            const used = `${current.total} × '${current.jobName}'`;
            settle(() =>
              reject(
                new E11Error(
                  ErrorCode.InvalidOptions,
                  `idempotencyKey '${current.idempotencyKey ?? ''}' was already used for ${used}; ` +
                    `a different kick-off needs a different key.`,
                  { context: { orchestrationId, path: 'idempotencyKey' } },
                ),
              ),
            );
            return;
          }
          if (current.registered) settle(() => resolve(current));
        },
        (error) => settle(() => reject(error)),
      );
    });
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
    return listOrchestrations(this.#store, options);
  }

  /** Per-job-name counts, queue depth and duration percentiles computed from the store (see `getMetrics`). */
  getMetrics(options?: MetricsOptions): Promise<MetricsReport> {
    return getMetrics(this.#store, options);
  }

  /** Dead-lettered jobs that were neither retried nor discarded, params redacted (see `listDeadLetters`). */
  listDeadLetters(options?: DeadLetterOptions): Promise<DeadLetter[]> {
    return listDeadLetters(this.#store, options);
  }

  /** Retention: deletes ended orchestrations created more than `days` days ago (see `deleteOrchestrationsOlderThan`). */
  deleteOrchestrationsOlderThan(days: number, options?: RetentionOptions): Promise<RetentionReport> {
    return deleteOrchestrationsOlderThan(this.#store, days, options);
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
