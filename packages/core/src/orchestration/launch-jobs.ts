import PQueue from 'p-queue';
import { DEFAULTS } from '../defaults.js';
import { ErrorCode, isE11Error } from '../errors.js';
import { retryWithBackoff } from '../internal/backoff.js';
import { GrpcStatus } from '../internal/grpc-errors.js';
import type { LaunchRateLimiter } from '../launch/rate-limiter.js';
import type { LaunchRequest, TaskLauncher } from '../launch/task-launcher.js';
import { type Logger } from '../logging.js';
import { type JobErrorInfo, type OrchestrationDoc } from '../model/documents.js';
import { failPendingJob } from '../store/fail-pending-job.js';
import { recordArrayExecution, recordJobExecution } from '../store/launch-records.js';
import { findOrchestration } from '../store/orchestration-docs.js';
import { type Store } from '../store/store.js';
import { type UnwrittenJob, unwrittenJobsByIndex } from '../store/unwritten-jobs.js';
import { buildTaskEnv } from '../task/task-contract.js';

import { watchCancelRequest } from './cancel-watch.js';
import { contiguousRuns } from './contiguous-runs.js';
import type { CompiledLaunchOptions } from './options.js';

/**
 * What a launch run needs. `rateLimiter` is shared by every launch of the process into the same project
 * and region (the run-job quota is the region's), see `acquireLaunchRateLimiter`.
 */
export interface LaunchContext {
  store: Store;
  launcher: TaskLauncher;
  logger: Logger;
  launch: CompiledLaunchOptions;
  rateLimiter: LaunchRateLimiter;
}

/** The orchestration being launched and which of its jobs to launch. */
export interface LaunchPlan {
  orchestration: Pick<OrchestrationDoc, 'id' | 'jobName' | 'service' | 'mode' | 'policy'>;
  /**
   * Jobs to start. Array mode launches each run of consecutive indices as one execution (at most
   * 10,000 tasks, `E11_TASK_INDEX_OFFSET` = the run's first index); relaunches may be per job.
   */
  jobs: readonly { id: string; index: number }[];
  concurrency: number;
  /** Force one execution per job. */
  perJob?: boolean;
  /**
   * The jobs as the caller registered them, from memory (a kick-off): a per-job launch records each
   * execution on a job that has no document yet without reading its params back. @default read them
   */
  unwritten?: (index: number) => UnwrittenJob | undefined;
  /** Stops launching when it aborts: jobs not launched yet stay Pending (counted as `deferred`). */
  signal?: AbortSignal;
  /** How long one request retries quota and 503 answers. @default the context's `launch.retryBudgetMs` */
  retryBudgetMs?: number;
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
  const { store, launcher, logger, launch, rateLimiter } = context;
  const { orchestration } = plan;
  const prefix = store.collections.prefix;
  const database = store.firestore.databaseId;
  const report: LaunchReport = {
    executions: [],
    launched: 0,
    failed: 0,
    deferred: 0,
    skipped: 0,
    requests: 0,
  };
  if (plan.jobs.length === 0) return report;
  let serviceError: Error | undefined;
  const baseEnv = {
    jobName: orchestration.jobName,
    orchestrationId: orchestration.id,
    collectionPrefix: prefix,
    databaseId: database,
  };
  const cancelWatch = watchCancelRequest(store, orchestration.id, logger);
  const signal = plan.signal ? AbortSignal.any([plan.signal, cancelWatch.signal]) : cancelWatch.signal;
  const retryBudgetMs = plan.retryBudgetMs ?? launch.retryBudgetMs;

  const send = async (request: LaunchRequest) => {
    if (serviceError !== undefined) throw serviceError;
    try {
      return await retryWithBackoff(
        async () => {
          await rateLimiter.acquire(signal);
          report.requests++;
          return launcher.launch(request);
        },
        {
          maxAttempts: Infinity,
          budgetMs: retryBudgetMs,
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
              { orchestrationId: orchestration.id, retry, delayMs, err: (error as Error).message },
              'launch failed, retrying',
            ),
        },
      );
    } catch (error) {
      const grpcCode = grpcCodeOfLaunchError(error);
      if (grpcCode !== undefined && SERVICE_WIDE.has(grpcCode)) serviceError ??= error as Error;
      throw error;
    }
  };

  const launchErrors = new Map<string, number>();
  const deferredErrors = new Map<string, number>();
  const note = (counts: Map<string, number>, error: unknown, jobs: number) => {
    const message = error instanceof Error ? error.message : String(error);
    counts.set(message, (counts.get(message) ?? 0) + jobs);
  };
  // Jobs with no document yet are built from the orchestration and their params chunks, each read once.
  let unwrittenJobs: Promise<((index: number) => Promise<UnwrittenJob | undefined>) | undefined> | undefined;
  const unwritten = async (index: number) => {
    if (plan.unwritten) return plan.unwritten(index);
    unwrittenJobs ??= findOrchestration(store, orchestration.id).then(
      (doc) => (doc ? unwrittenJobsByIndex(store, doc) : undefined),
      () => undefined,
    );
    return (await unwrittenJobs)?.(index).catch(() => undefined);
  };
  /** Ends jobs Errored; a job whose failure cannot be written stays Pending for the sweeper. */
  const failJobs = async (jobs: readonly PlannedJob[], error: unknown) => {
    note(launchErrors, error, jobs.length);
    const queue = new PQueue({ concurrency: 16 });
    await queue.addAll(
      jobs.map((job) => async () => {
        try {
          const failed = await failPendingJob(store, {
            orchestrationId: orchestration.id,
            jobId: job.id,
            known: await unwritten(job.index),
            error: launchErrorInfo(error, orchestration, job.id),
          });
          if (failed) report.failed++;
        } catch (recordError) {
          report.deferred++;
          logger.error(
            { orchestrationId: orchestration.id, jobId: job.id, err: (recordError as Error).message },
            'could not record a failed launch: the job stays Pending for the sweeper',
          );
        }
      }),
    );
  };
  /** Jobs this run does not launch: skipped for a cancelled orchestration, else deferred. */
  const leave = (jobs: readonly PlannedJob[], error: unknown) => {
    if (cancelWatch.signal.aborted) {
      report.skipped += jobs.length;
      return;
    }
    report.deferred += jobs.length;
    note(deferredErrors, error, jobs.length);
  };
  /** Launches one execution for `jobs`; settles (never rejects) once each job is accounted for. */
  const launchUnit = async (
    jobs: readonly PlannedJob[],
    request: LaunchRequest,
    recorded: (executionName: string) => Promise<unknown>,
  ) => {
    if (signal.aborted) return leave(jobs, signal.reason);
    let executionName: string;
    try {
      ({ executionName } = await send(request));
    } catch (error) {
      if (signal.aborted || isTransient(error)) leave(jobs, error);
      else await failJobs(jobs, error);
      return;
    }
    report.executions.push(executionName);
    report.launched += jobs.length;
    await recorded(executionName).catch((error: unknown) =>
      logger.warn(
        { err: (error as Error).message, orchestrationId: orchestration.id, executionName },
        'could not record execution',
      ),
    );
  };

  const timeoutMs = orchestration.policy.taskTimeoutMs;
  const queue = new PQueue({ concurrency: plan.concurrency });
  const units: Promise<void>[] = [];
  try {
    if (orchestration.mode === 'array' && !plan.perJob) {
      for (const run of contiguousRuns(plan.jobs, DEFAULTS.maxTasksPerExecution)) {
        const offset = run[0]?.index ?? 0;
        const request: LaunchRequest = {
          service: orchestration.service,
          env: buildTaskEnv({ ...baseEnv, taskIndexOffset: offset }),
          taskCount: run.length,
          timeoutMs,
        };
        units.push(
          queue.add(() =>
            launchUnit(run, request, (executionName) =>
              recordArrayExecution(store, orchestration.id, {
                executionName,
                first: offset,
                count: run.length,
              }),
            ),
          ),
        );
      }
    } else {
      for (const job of plan.jobs) {
        const request: LaunchRequest = {
          service: orchestration.service,
          env: buildTaskEnv({ ...baseEnv, job }),
          taskCount: 1,
          timeoutMs,
        };
        // The execution is kept for cancel() and the dashboard; never touches the status. Losing it only
        // costs cancel() the chance to stop this execution early (its task still sees Cancelled).
        units.push(
          queue.add(() =>
            launchUnit([job], request, (executionName) =>
              recordJobExecution(store, { orchestrationId: orchestration.id, jobId: job.id }, executionName, {
                unwritten: () => unwritten(job.index),
                createFirst: !plan.perJob,
              }),
            ),
          ),
        );
      }
    }
    for (const outcome of await Promise.allSettled(units)) {
      if (outcome.status === 'rejected') {
        logger.error(
          { orchestrationId: orchestration.id, err: (outcome.reason as Error).message },
          'a launch step failed unexpectedly; its jobs stay Pending for the sweeper',
        );
      }
    }
  } finally {
    cancelWatch.stop();
  }
  for (const [message, jobs] of launchErrors) {
    logger.warn(
      { orchestrationId: orchestration.id, jobs, err: message },
      `${jobs} job(s) could not be launched and are Errored`,
    );
  }
  for (const [message, jobs] of deferredErrors) {
    logger.warn(
      { orchestrationId: orchestration.id, jobs, err: message },
      `${jobs} job(s) not launched yet: they stay Pending and the sweeper launches them later`,
    );
  }
  if (report.skipped > 0) {
    logger.info(
      { orchestrationId: orchestration.id, jobs: report.skipped },
      'orchestration cancelled: launching stopped',
    );
  }
  return report;
}
