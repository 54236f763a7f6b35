import { FieldValue } from '@google-cloud/firestore';
import PQueue from 'p-queue';

import { DEFAULTS } from '../defaults.js';
import { ErrorCode, isE11Error } from '../errors.js';
import { retryWithBackoff } from '../internal/backoff.js';
import { GrpcStatus } from '../internal/grpc-errors.js';
import type { LaunchRequest, TaskLauncher } from '../launch/task-launcher.js';
import type { Logger } from '../logging.js';
import type { JobErrorInfo, OrchestrationDoc } from '../model/documents.js';
import { failPendingJob } from '../store/fail-pending-job.js';
import { findOrchestration } from '../store/orchestration-docs.js';
import { recordJobExecution } from '../store/record-execution.js';
import { now, type Store } from '../store/store.js';
import { type VirtualJob, virtualJobsByIndex } from '../store/virtual-jobs.js';

import { contiguousRuns } from './contiguous-runs.js';
import type { CompiledLaunchOptions } from './options.js';

/** What a launch run needs. `rateQueue` is shared by all kick-offs of a service (the quota is per region). */
export interface LaunchContext {
  store: Store;
  launcher: TaskLauncher;
  logger: Logger;
  launch: CompiledLaunchOptions;
  rateQueue: PQueue;
}

/** The orchestration being launched and which of its jobs to launch. */
export interface LaunchPlan {
  orchestration: Pick<OrchestrationDoc, 'id' | 'jobName' | 'service' | 'mode' | 'policy'>;
  /** Jobs to start. Array mode launches each run of consecutive indices as one execution. */
  jobs: readonly { id: string; index: number }[];
  concurrency: number;
  /** Force one execution per job (used for relaunches). */
  perJob?: boolean;
}

/** What happened during a launch run. */
export interface LaunchReport {
  /** Executions started. */
  executions: string[];
  /** Jobs whose launch succeeded. */
  launched: number;
  /** Jobs marked Errored because their launch failed permanently. */
  failed: number;
  /** Launch requests sent to the launcher, retries included. */
  requests: number;
}

/** Errors that are about the Cloud Run job itself, not one request: later launches would fail the same way. */
const SERVICE_WIDE = new Set<number>([
  GrpcStatus.NOT_FOUND,
  GrpcStatus.PERMISSION_DENIED,
  GrpcStatus.UNAUTHENTICATED,
]);

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

/**
 * Launches an orchestration's jobs with bounded concurrency, the shared per-minute rate limit, and
 * exponential backoff with jitter on retryable errors (429, 503, UNAVAILABLE). A job whose launch fails
 * permanently — or keeps failing after the last retry — is marked `Errored` with the launch error;
 * the others are not affected. A service-wide error (job not found, permission denied) fails the
 * remaining jobs of this run without more API calls.
 */
export async function launchJobs(context: LaunchContext, plan: LaunchPlan): Promise<LaunchReport> {
  const { store, launcher, logger, launch, rateQueue } = context;
  const { orchestration } = plan;
  const prefix = store.collections.prefix;
  const report: LaunchReport = { executions: [], launched: 0, failed: 0, requests: 0 };
  let serviceError: Error | undefined;
  const baseEnv: Record<string, string> = {
    JOB_NAME: orchestration.jobName,
    ORCHESTRATION_ID: orchestration.id,
    ...(prefix === DEFAULTS.collectionPrefix ? {} : { E11_COLLECTION_PREFIX: prefix }),
  };

  const send = async (request: LaunchRequest) => {
    if (serviceError !== undefined) throw serviceError;
    try {
      return await retryWithBackoff(
        async () => {
          report.requests++;
          return rateQueue.add(() => launcher.launch(request));
        },
        {
          maxAttempts: launch.maxAttempts,
          initialMs: launch.initialBackoffMs,
          maxMs: launch.maxBackoffMs,
          isRetryable: (error) => isE11Error(error) && error.retryable,
          onRetry: (error, retry, delayMs) =>
            logger.info(
              { orchestrationId: orchestration.id, retry, delayMs, err: (error as Error).message },
              'launch failed, retrying',
            ),
        },
      );
    } catch (error) {
      const grpcCode = isE11Error(error) ? error.context.grpcCode : undefined;
      if (typeof grpcCode === 'number' && SERVICE_WIDE.has(grpcCode)) serviceError ??= error as Error;
      throw error;
    }
  };

  const launchErrors = new Map<string, number>();
  // Jobs with no document yet are built from the orchestration and their params chunks, each read once.
  let unwrittenJobs: Promise<((index: number) => Promise<VirtualJob | undefined>) | undefined> | undefined;
  const unwritten = async (index: number) => {
    unwrittenJobs ??= findOrchestration(store, orchestration.id).then(
      (doc) => (doc ? virtualJobsByIndex(store, doc) : undefined),
      () => undefined,
    );
    return (await unwrittenJobs)?.(index).catch(() => undefined);
  };
  const failJobs = async (jobs: readonly { id: string; index: number }[], error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    launchErrors.set(message, (launchErrors.get(message) ?? 0) + jobs.length);
    const queue = new PQueue({ concurrency: 16 });
    await queue.addAll(
      jobs.map((job) => async () => {
        if (
          await failPendingJob(store, {
            orchestrationId: orchestration.id,
            jobId: job.id,
            known: await unwritten(job.index),
            error: launchErrorInfo(error, orchestration, job.id),
          })
        ) {
          report.failed++;
        }
      }),
    );
  };

  const timeoutMs = orchestration.policy.taskTimeoutMs;
  const queue = new PQueue({ concurrency: plan.concurrency });
  if (orchestration.mode === 'array' && !plan.perJob) {
    for (const chunk of contiguousRuns(plan.jobs, DEFAULTS.maxTasksPerExecution)) {
      const offset = chunk[0]?.index ?? 0;
      void queue.add(async () => {
        let executionName: string;
        try {
          ({ executionName } = await send({
            service: orchestration.service,
            env: { ...baseEnv, ...(offset > 0 ? { E11_TASK_INDEX_OFFSET: String(offset) } : {}) },
            taskCount: chunk.length,
            timeoutMs,
          }));
        } catch (error) {
          await failJobs(chunk, error);
          return;
        }
        report.executions.push(executionName);
        report.launched += chunk.length;
        await store.collections
          .orchestration(orchestration.id)
          .update({
            executions: FieldValue.arrayUnion(executionName),
            arrayLaunches: FieldValue.arrayUnion({ executionName, first: offset, count: chunk.length }),
            updatedAt: now(store),
          })
          .catch((error: unknown) =>
            logger.warn({ err: (error as Error).message, executionName }, 'could not record execution'),
          );
      });
    }
  } else {
    for (const job of plan.jobs) {
      void queue.add(async () => {
        let executionName: string;
        try {
          ({ executionName } = await send({
            service: orchestration.service,
            env: { ...baseEnv, JOB_ID: job.id, E11_JOB_INDEX: String(job.index) },
            taskCount: 1,
            timeoutMs,
          }));
        } catch (error) {
          await failJobs([job], error);
          return;
        }
        report.executions.push(executionName);
        report.launched++;
        // Kept for cancel() and the dashboard; never touches the status. Losing it only costs cancel()
        // the chance to stop this execution early (its task still sees Cancelled).
        await recordJobExecution(store, { orchestrationId: orchestration.id, jobId: job.id }, executionName, {
          unwritten: () => unwritten(job.index),
          createFirst: !plan.perJob,
        }).catch((error: unknown) =>
          logger.warn({ err: (error as Error).message, jobId: job.id }, 'could not record execution'),
        );
      });
    }
  }
  await queue.onIdle();
  for (const [message, jobs] of launchErrors) {
    logger.warn(
      { orchestrationId: orchestration.id, jobs, err: message },
      `${jobs} job(s) could not be launched and are Errored`,
    );
  }
  return report;
}

/** A rate limiter for launch requests: at most `ratePerMinute` started per rolling minute. */
export function createRateQueue(ratePerMinute: number): PQueue {
  return new PQueue({ intervalCap: ratePerMinute, interval: 60_000, strict: true });
}
