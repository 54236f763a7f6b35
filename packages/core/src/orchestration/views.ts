import type { Timestamp } from '@google-cloud/firestore';

import { costOf, type OrchestrationCost } from '../cost/pricing.js';
import { concurrencyKeyName } from '../model/collections.js';
import {
  type AttemptRecord,
  type EndReason,
  type JobDoc,
  type JobErrorInfo,
  type OrchestrationDoc,
} from '../model/documents.js';
import { type JobParams } from '../model/json.js';
import {
  type JobStatus,
  type OrchestrationStatus,
  type StatusCounts,
  terminalCount,
} from '../model/status.js';
import { redactJob } from '../monitoring/redact.js';
import { traceIdOf } from '../telemetry/trace-context.js';

const toDate = (value: Timestamp | null | undefined): Date | null => (value ? value.toDate() : null);

/** An orchestration as the SDK returns it. */
export interface OrchestrationInfo {
  id: string;
  jobName: string;
  /** The Cloud Run job id its tasks run on. */
  service: string;
  status: OrchestrationStatus;
  total: number;
  /** Jobs per status, live. */
  counts: StatusCounts;
  /** Share of jobs that reached a terminal status, 0..1. */
  progress: number;
  tags: Record<string, string>;
  tenant: string | null;
  topic: string;
  mode: 'per-job' | 'array';
  /** Run number: 1, +1 for each retryFailed. */
  epoch: number;
  idempotencyKey: string | null;
  cancelRequested: boolean;
  /** Paused (`pause()`): nothing new launches until `resume()`; its running jobs go on. */
  paused: boolean;
  /** A delayed start (`startAt` / `delay`): no job launches before it. */
  startAt: Date | null;
  /** `maxParallel`: at most this many jobs launched and not ended; null without a limit. */
  maxParallel: number | null;
  /** With `maxParallel` or `concurrency`: jobs admitted so far (the others wait for a slot); null without. */
  admitted: number | null;
  /** The `concurrency` key whose slots its jobs share; null without. */
  concurrencyKey: string | null;
  /** Fail fast after this many failures (`maxFailures` / `maxFailureRatio`); null without. */
  maxFailures: number | null;
  /** End `Completed` once this many jobs succeeded (`successPolicy`); null without. */
  successNeeded: number | null;
  /**
   * Why it was (or is being) ended early: `cancel()`, its deadline (`timeout`), `maxFailures` or
   * `successPolicy`; null otherwise. The event carries the same reason.
   */
  endReason: EndReason | null;
  scheduleName: string | null;
  createdAt: Date;
  updatedAt: Date;
  launchedAt: Date | null;
  completedAt: Date | null;
  deadlineAt: Date | null;
  /**
   * The OpenTelemetry trace id of its kick-off (every span of the orchestration is in this trace); null
   * when no OpenTelemetry SDK was registered at kick-off.
   */
  traceId: string | null;
  /**
   * Task time and what it cost: every ended attempt's start-to-end time added up (`taskSeconds`,
   * growing as jobs end), priced at the CPU and memory of one task and the prices recorded at kick-off.
   * Null for orchestrations created before cost was counted.
   */
  cost: OrchestrationCost | null;
}

/** One job as the SDK returns it. */
export interface JobInfo<P = JobParams, R = unknown> {
  id: string;
  orchestrationId: string;
  jobName: string;
  index: number;
  status: JobStatus;
  params: P;
  attempt: number;
  attempts: (Omit<AttemptRecord, 'startedAt' | 'finishedAt'> & {
    startedAt: Date;
    finishedAt: Date | null;
  })[];
  result: R | null;
  error: JobErrorInfo | null;
  progress: { ratio: number; message: string | null; at: Date } | null;
  checkpoint: unknown;
  deadLettered: boolean;
  discarded: boolean;
  executionName: string | null;
  heartbeatAt: Date | null;
  startedAt: Date | null;
  finishedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  /**
   * Why a `Pending` job is not launched yet: its orchestration is `paused`, its `startAt` has not come,
   * it waits for a slot (`maxParallel`, or its `concurrency` key's), or for Cloud Run's quota
   * (`quota`): a slot of the region's executions in flight (`launch.maxExecutionsInFlight`), or its
   * launch was turned away with 429 and the sweeper launches it later. Null for a job that is launched
   * or launching, and for every job not `Pending`.
   */
  waiting: WaitingReason | null;
}

/** Why a `Pending` job waits (see `JobInfo.waiting`). */
export type WaitingReason = 'paused' | 'startAt' | 'maxParallel' | 'concurrencyKey' | 'quota';

/** What of its orchestration tells why a job waits. */
export type WaitingContext = Pick<
  OrchestrationDoc,
  'paused' | 'startAt' | 'maxParallel' | 'admitted' | 'concurrencyKey' | 'readmit'
>;

/**
 * Why `job` waits, from its orchestration as read (see `JobInfo.waiting`): a job past the admission
 * cursor that was never launched waits for a slot.
 */
export function waitingReason(
  job: JobDoc,
  orchestration: WaitingContext,
  nowMs: number,
): WaitingReason | null {
  if (job.status !== 'Pending') return null;
  if (orchestration.paused) return 'paused';
  if ((orchestration.startAt?.toMillis() ?? 0) > nowMs) return 'startAt';
  const { admitted } = orchestration;
  const neverLaunched = job.launches === 0 && job.attempt === 0;
  // Past the cursor and never launched, or reopened by retryFailed and back in line for a slot.
  const inLine =
    admitted !== null &&
    ((job.index >= admitted && neverLaunched) || orchestration.readmit.includes(job.index));
  if (inLine) {
    if (orchestration.concurrencyKey !== null) return 'concurrencyKey';
    // Without maxParallel, a cursor means the region's executions-in-flight budget admits it.
    return orchestration.maxParallel === null ? 'quota' : 'maxParallel';
  }
  if (job.launchDeferredAt !== null && neverLaunched) return 'quota';
  return null;
}

/**
 * The public view of an orchestration document with its live counts and task time (`taskMillis`, its
 * counter shards' sum: see `readShardTotals`).
 */
export function toOrchestrationInfo(
  doc: OrchestrationDoc,
  counts: StatusCounts,
  taskMillis = 0,
): OrchestrationInfo {
  return {
    id: doc.id,
    jobName: doc.jobName,
    service: doc.service,
    status: doc.status,
    total: doc.total,
    counts,
    progress: doc.total === 0 ? 1 : terminalCount(counts) / doc.total,
    tags: doc.tags,
    tenant: doc.tenant,
    topic: doc.topic,
    mode: doc.mode,
    epoch: doc.epoch,
    idempotencyKey: doc.idempotencyKey,
    cancelRequested: doc.cancelRequested,
    paused: doc.paused,
    startAt: toDate(doc.startAt),
    maxParallel: doc.maxParallel,
    admitted: doc.admitted,
    concurrencyKey: doc.concurrencyKey === null ? null : concurrencyKeyName(doc.concurrencyKey),
    maxFailures: doc.maxFailures,
    successNeeded: doc.successNeeded,
    endReason: doc.cancelRequested ? doc.cancelReason : null,
    scheduleName: doc.scheduleName ?? null,
    createdAt: doc.createdAt.toDate(),
    updatedAt: doc.updatedAt.toDate(),
    launchedAt: toDate(doc.launchedAt),
    completedAt: toDate(doc.completedAt),
    deadlineAt: toDate(doc.deadlineAt),
    traceId: traceIdOf(doc.traceparent),
    cost: doc.resources && doc.pricing ? costOf(taskMillis, doc.resources, doc.pricing) : null,
  };
}

/**
 * The public view of a job document, redacted with its orchestration's `sensitiveKeys` (the stored
 * union of the kick-off's keys and the job class's): those keys of params, result and checkpoint
 * read `[REDACTED]`, and their values are redacted from the error, attempt and progress texts.
 */
export function toJobInfo<P = JobParams, R = unknown>(
  stored: JobDoc,
  sensitiveKeys: readonly string[],
  waiting: WaitingReason | null = null,
): JobInfo<P, R> {
  const doc = redactJob(stored, sensitiveKeys);
  return {
    id: doc.id,
    orchestrationId: doc.orchestrationId,
    jobName: doc.jobName,
    index: doc.index,
    status: doc.status,
    params: doc.params as P,
    attempt: doc.attempt,
    attempts: doc.attempts.map((record) => ({
      ...record,
      startedAt: record.startedAt.toDate(),
      finishedAt: toDate(record.finishedAt),
    })),
    result: (doc.result ?? null) as R | null,
    error: doc.error,
    progress: doc.progress ? { ...doc.progress, at: doc.progress.at.toDate() } : null,
    checkpoint: doc.checkpoint,
    deadLettered: doc.deadLettered,
    discarded: doc.discarded,
    executionName: doc.executionName,
    heartbeatAt: toDate(doc.heartbeatAt),
    startedAt: toDate(doc.startedAt),
    finishedAt: toDate(doc.finishedAt),
    createdAt: doc.createdAt.toDate(),
    updatedAt: doc.updatedAt.toDate(),
    waiting,
  };
}
