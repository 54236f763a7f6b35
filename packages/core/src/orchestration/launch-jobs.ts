import { type Context, context as traceContext, SpanKind } from '@opentelemetry/api';
import PQueue from 'p-queue';

import { DEFAULTS } from '../defaults.js';
import { ErrorCode, isE11Error } from '../errors.js';
import { retryWithBackoff } from '../internal/backoff.js';
import { GrpcStatus } from '../internal/grpc-errors.js';
import type { LaunchPacer } from '../launch/shared-budget.js';
import type { LaunchRequest, TaskLauncher } from '../launch/task-launcher.js';
import { type Logger } from '../logging.js';
import { type JobErrorInfo, type OrchestrationDoc } from '../model/documents.js';
import { failPendingJob } from '../store/fail-pending-job.js';
import { recordArrayExecution, recordJobExecution } from '../store/launch-records.js';
import { findOrchestration } from '../store/orchestration-docs.js';
import { type Store } from '../store/store.js';
import { type UnwrittenJob, unwrittenJobsByIndex } from '../store/unwritten-jobs.js';
import { buildTaskEnv, traceEnv } from '../task/task-contract.js';
import { recordLaunchLatency, recordQueueWait } from '../telemetry/metrics.js';
import {
  e11Tracer,
  inSpan,
  TraceAttribute,
  traceCarrierOf,
  TracerScope,
} from '../telemetry/trace-context.js';

import { stoppedByCancel, watchCancelRequest } from './cancel-watch.js';
import { contiguousRuns } from './contiguous-runs.js';
import type { CompiledLaunchOptions } from './options.js';

/**
 * What a launch run needs. `rateLimiter` paces every request: the engine's is shared by every launch of
 * the process into the same project and region (`acquireLaunchRateLimiter`) and, behind it, by every
 * process (`SharedLaunchBudget`): the run-job quota is the region's.
 */
export interface LaunchContext {
  store: Store;
  launcher: TaskLauncher;
  logger: Logger;
  launch: CompiledLaunchOptions;
  rateLimiter: LaunchPacer;
  /** Told of every launch run made with this context and of each execution it accounts for (a kick-off's). */
  progress?: LaunchProgress;
  /**
   * The trace context each launch span is a child of (a kick-off's span), passed explicitly so it holds
   * without a context manager. @default the context active when `launchJobs` is called
   */
  traceContext?: Context;
}

/**
 * What a caller's launch runs did so far, and when the first `wave` executions of them were accounted
 * for (launched, failed, deferred or skipped): `kickOffJob` returns then, with what went at once, and
 * hands the rest to its launch running on (the sweeper's once this process is silent).
 */
export class LaunchProgress {
  readonly #runs: { orchestrationId: string; report: LaunchReport }[] = [];
  #done = 0;
  #reached!: () => void;
  /** Resolves once `wave` executions were accounted for. */
  readonly reached = new Promise<void>((resolve) => (this.#reached = resolve));

  constructor(private readonly wave: number) {
    if (wave <= 0) this.#reached();
  }

  /** A launch run of `orchestrationId` starts: its report counts from now on. */
  run(orchestrationId: string, report: LaunchReport): void {
    this.#runs.push({ orchestrationId, report });
  }

  /** One execution of a run was accounted for. */
  unitDone(): void {
    if (++this.#done >= this.wave) this.#reached();
  }

  /** What every run did so far (a copy). */
  snapshot(): LaunchReport {
    return mergeReports(this.#runs.map((run) => run.report));
  }

  /** Jobs of `orchestrationId` launched, or ended by a failed or skipped launch, so far. */
  settledOf(orchestrationId: string): number {
    return this.#runs
      .filter((run) => run.orchestrationId === orchestrationId)
      .reduce((sum, { report }) => sum + report.launched + report.failed + report.skipped, 0);
  }
}

/** An empty launch report. */
export const emptyReport = (): LaunchReport => ({
  executions: [],
  launched: 0,
  failed: 0,
  deferred: 0,
  skipped: 0,
  requests: 0,
});

/** Adds up the reports of several launch runs (a new report). */
export function mergeReports(reports: readonly LaunchReport[]): LaunchReport {
  return reports.reduce<LaunchReport>(
    (sum, report) => ({
      executions: [...sum.executions, ...report.executions],
      launched: sum.launched + report.launched,
      failed: sum.failed + report.failed,
      deferred: sum.deferred + report.deferred,
      skipped: sum.skipped + report.skipped,
      requests: sum.requests + report.requests,
    }),
    emptyReport(),
  );
}

/** The orchestration being launched and which of its jobs to launch. */
export interface LaunchPlan {
  /** With `paused: true` (as read by the caller) nothing is sent: every job stays Pending for `resume()`. */
  orchestration: Pick<OrchestrationDoc, 'id' | 'jobName' | 'service' | 'mode' | 'policy'> &
    Partial<Pick<OrchestrationDoc, 'createdAt' | 'startAt'>> & {
      paused?: boolean;
    };
  /**
   * Jobs to start. Array mode launches each run of consecutive indices as one execution (at most
   * 10,000 tasks, `E11_TASK_INDEX_OFFSET` = the run's first index); relaunches may be per job.
   * `waitingSinceMs`: since when the job waits for this launch (it was made Pending), for the
   * `e11.queue.wait` metric; without it a first launch (not `perJob`) waits since the orchestration's
   * `createdAt` (its `startAt` when later), and a per-job relaunch is not measured.
   */
  jobs: readonly { id: string; index: number; waitingSinceMs?: number }[];
  concurrency: number;
  /**
   * The jobs were reopened (retryFailed): each launch is recorded on the job, not the orchestration. In
   * per-job mode one execution per job; in array mode one execution for all of them (up to 10,000
   * tasks and an env list of 30,000 characters each), its tasks mapped to the jobs by
   * `E11_TASK_JOB_INDEXES`.
   */
  perJob?: boolean;
  /**
   * The jobs as the caller registered them, from memory (a kick-off), or from the orchestration the
   * caller read (an admission): a per-job launch records each execution on a job that has no document
   * yet without reading the orchestration again. @default read them
   */
  unwritten?: (index: number) => UnwrittenJob | undefined | Promise<UnwrittenJob | undefined>;
  /** Stops launching when it aborts: jobs not launched yet stay Pending (counted as `deferred`). */
  signal?: AbortSignal;
  /** How long one request retries quota and 503 answers. @default the context's `launch.retryBudgetMs` */
  retryBudgetMs?: number;
  /**
   * Listen to the orchestration for a cancel or pause while launching (a listener per run). False for
   * a run of a few jobs whose caller has just read that neither happened (an admission): a cancel
   * during it is still seen by each task. @default true
   */
  watchCancel?: boolean;
  /** Called once with the jobs this run leaves `Pending` (deferred, not skipped), when there are any. */
  onDeferred?: (jobs: readonly { id: string; index: number }[]) => Promise<void>;
}

/** What happened during a launch run. Every job of the plan is counted once: launched, failed, deferred or skipped. */
export interface LaunchReport {
  /** Executions started. */
  executions: string[];
  /** Jobs whose launch succeeded. */
  launched: number;
  /** Jobs marked Errored because their launch failed permanently. */
  failed: number;
  /**
   * Jobs left Pending for a later launch by the sweeper: the quota (429) or 503 window outlasted the
   * retry budget, transient errors persisted, the plan's signal aborted, or a permanent failure could
   * not be recorded.
   */
  deferred: number;
  /** Jobs not launched because the orchestration was cancelled meanwhile. */
  skipped: number;
  /** Launch requests sent to the launcher, retries included. */
  requests: number;
}

/** Errors that are about the Cloud Run job itself, not one request: later launches would fail the same way. */
const SERVICE_WIDE = new Set<number>([
  GrpcStatus.NOT_FOUND,
  GrpcStatus.PERMISSION_DENIED,
  GrpcStatus.UNAUTHENTICATED,
]);

/** Quota exceeded (429) and service unavailable (503): "launch later", retried for the whole budget. */
const LAUNCH_LATER = new Set<number>([GrpcStatus.RESOURCE_EXHAUSTED, GrpcStatus.UNAVAILABLE]);

function grpcCodeOfLaunchError(error: unknown): number | undefined {
  const code = isE11Error(error) ? error.context.grpcCode : undefined;
  return typeof code === 'number' ? code : undefined;
}

/** Whether a launch error is transient: the job stays Pending rather than Errored. */
function isTransient(error: unknown): boolean {
  return isE11Error(error) && error.retryable;
}

function launchErrorInfo(
  error: unknown,
  orchestration: LaunchPlan['orchestration'],
  jobId: string,
): JobErrorInfo {
  const e11 = isE11Error(error) ? error : undefined;
  return {
    message: error instanceof Error ? error.message : String(error),
    code: ErrorCode.LaunchFailed,
    name: error instanceof Error ? error.name : null,
    stack: null,
    jobName: orchestration.jobName,
    orchestrationId: orchestration.id,
    jobId,
    attempt: 0,
    retryable: e11?.retryable ?? false,
  };
}

type PlannedJob = LaunchPlan['jobs'][number];

/** One execution to start: the jobs it runs, its request, and what records it once it exists. */
interface LaunchUnit {
  jobs: readonly PlannedJob[];
  request: LaunchRequest;
  record: (executionName: string) => Promise<unknown>;
}

/**
 * Launches an orchestration's jobs with bounded concurrency and the shared rate limit. A 429 (quota)
 * or 503 answer means "later": the request is retried with exponential backoff and jitter for the
 * retry budget, and a job still unlaunched then stays Pending for the sweeper (as when the plan's
 * signal aborts). Only a permanent error (invalid argument, job not found, permission denied...) ends
 * the affected jobs Errored with the launch error; a service-wide one (job not found, permission
 * denied) fails the remaining jobs of this run without more API calls. A cancelled orchestration stops
 * the run: no request is sent for it after its cancel is seen. Never rejects for a single job's launch:
 * what could not be done is counted and logged.
 */
export async function launchJobs(context: LaunchContext, plan: LaunchPlan): Promise<LaunchReport> {
  const run = new LaunchRun(context, plan);
  if (plan.jobs.length === 0) return run.report;
  if (plan.orchestration.paused === true) {
    run.report.deferred = plan.jobs.length;
    context.logger.info(
      { orchestrationId: plan.orchestration.id, jobs: plan.jobs.length },
      'orchestration paused: its jobs wait for resume()',
    );
    return run.report;
  }
  const cancelWatch =
    plan.watchCancel === false
      ? undefined
      : watchCancelRequest(context.store, plan.orchestration.id, context.logger);
  try {
    await run.launchAll(
      launchUnits(context.store, plan, (index) => run.unwritten(index)),
      cancelWatch?.signal ?? new AbortController().signal,
    );
  } finally {
    cancelWatch?.stop();
  }
  run.logSummary();
  if (plan.onDeferred && run.deferredJobs.length > 0) await plan.onDeferred(run.deferredJobs);
  return run.report;
}

/**
 * The executions a plan starts: in array mode one per run of consecutive indices (at most 10,000
 * tasks, recorded on the orchestration), else one per job (recorded on the job: kept for cancel() and
 * the dashboard, never touching its status; losing it only costs cancel() the chance to stop that
 * execution early, its task still sees Cancelled).
 */
function launchUnits(
  store: Store,
  plan: LaunchPlan,
  unwritten: (index: number) => Promise<UnwrittenJob | undefined>,
): LaunchUnit[] {
  const { orchestration } = plan;
  const baseEnv = {
    jobName: orchestration.jobName,
    orchestrationId: orchestration.id,
    collectionPrefix: store.collections.prefix,
    databaseId: store.firestore.databaseId,
  };
  const request = (env: Record<string, string>, taskCount: number): LaunchRequest => ({
    service: orchestration.service,
    env,
    taskCount,
    timeoutMs: orchestration.policy.taskTimeoutMs,
  });
  if (orchestration.mode === 'array' && plan.perJob) {
    return mappedChunks(plan.jobs).map((jobs) => ({
      jobs,
      request: request(
        buildTaskEnv({ ...baseEnv, taskJobIndexes: jobs.map((job) => job.index) }),
        jobs.length,
      ),
      // Each job counts the launch, as a per-job one: its epoch is not the orchestration's first.
      record: async (executionName) => {
        await new PQueue({ concurrency: 16 }).addAll(
          jobs.map(
            (job) => () =>
              recordJobExecution(store, { orchestrationId: orchestration.id, jobId: job.id }, executionName, {
                unwritten: () => unwritten(job.index),
                createFirst: false,
              }),
          ),
        );
      },
    }));
  }
  if (orchestration.mode === 'array' && !plan.perJob) {
    return contiguousRuns(plan.jobs, DEFAULTS.maxTasksPerExecution).map((jobs) => {
      const first = jobs[0]?.index ?? 0;
      return {
        jobs,
        request: request(buildTaskEnv({ ...baseEnv, taskIndexOffset: first }), jobs.length),
        record: (executionName) =>
          recordArrayExecution(store, orchestration.id, { executionName, first, count: jobs.length }),
      };
    });
  }
  return plan.jobs.map((job) => ({
    jobs: [job],
    request: request(buildTaskEnv({ ...baseEnv, job }), 1),
    record: (executionName) =>
      recordJobExecution(store, { orchestrationId: orchestration.id, jobId: job.id }, executionName, {
        unwritten: () => unwritten(job.index),
        createFirst: !plan.perJob,
      }),
  }));
}

/** Longest `E11_TASK_JOB_INDEXES` list of one execution (Cloud Run allows 32 KB per env value). */
const MAX_MAPPED_ENV_CHARS = 30_000;

/**
 * Reopened jobs of an array orchestration in executions of at most 10,000 tasks whose job list stays
 * under {@link MAX_MAPPED_ENV_CHARS}: usually one. Ascending by index.
 */
function mappedChunks(jobs: readonly PlannedJob[]): PlannedJob[][] {
  const sorted = [...jobs].sort((a, b) => a.index - b.index);
  const chunks: PlannedJob[][] = [];
  let chunk: PlannedJob[] = [];
  for (const job of sorted) {
    const size = chunk.length + 1;
    const fits =
      size <= DEFAULTS.maxTasksPerExecution &&
      // Each index adds at most its digits and a comma (ascending: this one has the most digits).
      size * (String(job.index).length + 1) <= MAX_MAPPED_ENV_CHARS;
    if (!fits && chunk.length > 0) {
      chunks.push(chunk);
      chunk = [];
    }
    chunk.push(job);
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

/** The state of one launch run: its report, the errors it saw, and each way a unit can end. */
class LaunchRun {
  readonly report: LaunchReport = emptyReport();
  /** A service-wide error (the Cloud Run job is missing or not ours): every later request fails alike. */
  #serviceError: Error | undefined;
  readonly #launchErrors = new Map<string, number>();
  readonly #deferredErrors = new Map<string, number>();
  /** The jobs this run left Pending (`deferred`), for the plan's `onDeferred`. */
  readonly deferredJobs: PlannedJob[] = [];
  /** The parent of this run's launch spans. */
  readonly #traceContext: Context;
  #cancelled: AbortSignal | undefined;
  #signal: AbortSignal | undefined;
  #unwrittenJobs: Promise<((index: number) => Promise<UnwrittenJob | undefined>) | undefined> | undefined;
  /** When the launch was decided (this run was created), on the store's clock: for `e11.launch.latency`. */
  readonly #decidedAtMs: number;

  constructor(
    private readonly context: LaunchContext,
    private readonly plan: LaunchPlan,
  ) {
    context.progress?.run(plan.orchestration.id, this.report);
    this.#traceContext = context.traceContext ?? traceContext.active();
    this.#decidedAtMs = context.store.clock.now();
  }

  /** Launches every unit with the plan's concurrency; stops sending once `cancelled` or the plan's signal aborts. */
  async launchAll(units: readonly LaunchUnit[], cancelled: AbortSignal): Promise<void> {
    this.#cancelled = cancelled;
    this.#signal = this.plan.signal ? AbortSignal.any([this.plan.signal, cancelled]) : cancelled;
    const queue = new PQueue({ concurrency: this.plan.concurrency });
    const outcomes = await Promise.allSettled(
      units.map((unit) =>
        queue.add(() => this.launchUnit(unit)).finally(() => this.context.progress?.unitDone()),
      ),
    );
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') {
        this.context.logger.error(
          { orchestrationId: this.plan.orchestration.id, err: (outcome.reason as Error).message },
          'a launch step failed unexpectedly; its jobs stay Pending for the sweeper',
        );
      }
    }
  }

  /**
   * A job with no document yet, built from the orchestration and its params chunk (each chunk read
   * once), or from the plan's registration in memory.
   */
  async unwritten(index: number): Promise<UnwrittenJob | undefined> {
    if (this.plan.unwritten) return this.plan.unwritten(index);
    const { store } = this.context;
    this.#unwrittenJobs ??= findOrchestration(store, this.plan.orchestration.id).then(
      (doc) => (doc ? unwrittenJobsByIndex(store, doc) : undefined),
      () => undefined,
    );
    return (await this.#unwrittenJobs)?.(index).catch(() => undefined);
  }

  /** Launches one execution for the unit's jobs; settles (never rejects) once each job is accounted for. */
  private async launchUnit(unit: LaunchUnit): Promise<void> {
    const signal = this.#signal as AbortSignal;
    if (signal.aborted) return this.leave(unit.jobs, signal.reason);
    let executionName: string;
    try {
      ({ executionName } = await this.tracedSend(unit));
    } catch (error) {
      if (signal.aborted || isTransient(error)) this.leave(unit.jobs, error);
      else await this.failJobs(unit.jobs, error);
      return;
    }
    this.report.executions.push(executionName);
    this.report.launched += unit.jobs.length;
    this.recordLaunched(unit.jobs);
    await unit
      .record(executionName)
      .catch((error: unknown) =>
        this.context.logger.warn(
          { err: error, orchestrationId: this.plan.orchestration.id, executionName },
          'could not record execution',
        ),
      );
  }

  /**
   * {@link send} in a launch span (`e11.launch {service}`), whose trace context the task gets as
   * TRACEPARENT: the runner's attempt span is its child.
   */
  private tracedSend(unit: LaunchUnit) {
    const { orchestration } = this.plan;
    const first = unit.jobs[0];
    return inSpan(
      e11Tracer(TracerScope.core),
      `e11.launch ${orchestration.service}`,
      {
        kind: SpanKind.CLIENT,
        parent: this.#traceContext,
        attributes: {
          [TraceAttribute.orchestrationId]: orchestration.id,
          [TraceAttribute.jobName]: orchestration.jobName,
          [TraceAttribute.jobCount]: unit.jobs.length,
          ...(unit.jobs.length === 1 && first
            ? { [TraceAttribute.jobId]: first.id, [TraceAttribute.jobIndex]: first.index }
            : {}),
          'cloud.provider': 'gcp',
          'cloud.platform': 'gcp_cloud_run',
          ...(this.context.launcher.region ? { 'cloud.region': this.context.launcher.region } : {}),
        },
      },
      async (span) => {
        const trace = traceCarrierOf(span.spanContext());
        const request = trace
          ? { ...unit.request, env: { ...unit.request.env, ...traceEnv(trace) } }
          : unit.request;
        const launched = await this.send(request);
        span.setAttribute(TraceAttribute.executionName, launched.executionName);
        return launched;
      },
    );
  }

  /**
   * The launch metrics of one execution that now exists: its latency since the launch was decided, and
   * how long each of its jobs waited (see {@link LaunchPlan.jobs}).
   */
  private recordLaunched(jobs: readonly PlannedJob[]): void {
    const { orchestration, perJob } = this.plan;
    const launchedAtMs = this.context.store.clock.now();
    const point = { jobName: orchestration.jobName, region: this.context.launcher.region };
    recordLaunchLatency('@e11/core', { ...point, latencyMs: launchedAtMs - this.#decidedAtMs });
    const created = orchestration.createdAt?.toMillis();
    const start =
      perJob || created === undefined ? undefined : Math.max(created, orchestration.startAt?.toMillis() ?? 0);
    for (const job of jobs) {
      const since = job.waitingSinceMs ?? start;
      if (since !== undefined) recordQueueWait('@e11/core', { ...point, waitMs: launchedAtMs - since });
    }
  }

  /** One launch request through the rate limiter, retried while the answer means "later". */
  private async send(request: LaunchRequest) {
    const { launcher, logger, launch, rateLimiter } = this.context;
    const signal = this.#signal as AbortSignal;
    if (this.#serviceError !== undefined) throw this.#serviceError;
    try {
      return await retryWithBackoff(
        async () => {
          await rateLimiter.acquire(signal);
          this.report.requests++;
          return launcher.launch(request);
        },
        {
          maxAttempts: Infinity,
          budgetMs: this.plan.retryBudgetMs ?? launch.retryBudgetMs,
          initialMs: launch.initialBackoffMs,
          maxMs: launch.maxBackoffMs,
          signal,
          isRetryable: (error, attempt) => {
            if (!isTransient(error) || signal.aborted) return false;
            const code = grpcCodeOfLaunchError(error);
            return (code !== undefined && LAUNCH_LATER.has(code)) || attempt < launch.maxAttempts;
          },
          onRetry: (error, retry, delayMs) =>
            logger.info(
              { orchestrationId: this.plan.orchestration.id, retry, delayMs, err: error },
              'launch failed, retrying',
            ),
        },
      );
    } catch (error) {
      const grpcCode = grpcCodeOfLaunchError(error);
      if (grpcCode !== undefined && SERVICE_WIDE.has(grpcCode)) this.#serviceError ??= error as Error;
      throw error;
    }
  }

  /** Ends jobs Errored; a job whose failure cannot be written stays Pending for the sweeper. */
  private async failJobs(jobs: readonly PlannedJob[], error: unknown): Promise<void> {
    const { store, logger } = this.context;
    const { orchestration } = this.plan;
    note(this.#launchErrors, error, jobs.length);
    const queue = new PQueue({ concurrency: 16 });
    await queue.addAll(
      jobs.map((job) => async () => {
        try {
          const failed = await failPendingJob(store, {
            orchestrationId: orchestration.id,
            jobId: job.id,
            known: await this.unwritten(job.index),
            error: launchErrorInfo(error, orchestration, job.id),
          });
          if (failed) this.report.failed++;
        } catch (recordError) {
          this.report.deferred++;
          this.deferredJobs.push(job);
          logger.error(
            { orchestrationId: orchestration.id, jobId: job.id, err: (recordError as Error).message },
            'could not record a failed launch: the job stays Pending for the sweeper',
          );
        }
      }),
    );
  }

  /** Jobs this run does not launch: skipped for a cancelled orchestration, else deferred. */
  private leave(jobs: readonly PlannedJob[], error: unknown): void {
    if (this.#cancelled && stoppedByCancel(this.#cancelled)) {
      this.report.skipped += jobs.length;
      return;
    }
    this.report.deferred += jobs.length;
    this.deferredJobs.push(...jobs);
    note(this.#deferredErrors, error, jobs.length);
  }

  /** One line per distinct launch error, deferral reason, and the cancel that stopped the run. */
  logSummary(): void {
    const { logger } = this.context;
    const orchestrationId = this.plan.orchestration.id;
    for (const [message, jobs] of this.#launchErrors) {
      logger.warn(
        { orchestrationId, jobs, err: message },
        `${jobs} job(s) could not be launched and are Errored`,
      );
    }
    for (const [message, jobs] of this.#deferredErrors) {
      logger.warn(
        { orchestrationId, jobs, err: message },
        `${jobs} job(s) not launched yet: they stay Pending and the sweeper launches them later`,
      );
    }
    if (this.report.skipped > 0) {
      logger.info(
        { orchestrationId, jobs: this.report.skipped },
        'orchestration cancelled: launching stopped',
      );
    }
  }
}

/** Counts `jobs` under the error's message (one log line per distinct error). */
function note(counts: Map<string, number>, error: unknown, jobs: number): void {
  const message = error instanceof Error ? error.message : String(error);
  counts.set(message, (counts.get(message) ?? 0) + jobs);
}
