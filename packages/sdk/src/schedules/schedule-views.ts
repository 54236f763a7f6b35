import { type JobParams, type JobStatus, redactParams } from '@e11/core';

import type { ScheduleKickOffOptions } from '@e11/core/engine';
import type { OverlapPolicy, RunOutcome, RunTrigger, ScheduleDoc, ScheduleRunDoc } from '@e11/core/engine';

/** One run of a schedule, as `schedules.runs()` lists it. */
export interface ScheduleRunInfo {
  /** The fire time (ISO) of a cron run, `manual-{ISO}` of a manual one. */
  id: string;
  schedule: string;
  trigger: RunTrigger;
  /** The scheduled fire time (cron) or the moment of the manual trigger. */
  firedAt: Date;
  /** `pending` only while a tick is deciding it. */
  outcome: RunOutcome;
  /** True when overlap prevention skipped it. */
  skipped: boolean;
  /** The orchestration it launched, if it launched one. */
  orchestrationId: string | null;
  /**
   * The orchestration's status now, read with the history (one batched read); null when the run
   * launched nothing or the orchestration is gone (retention).
   */
  orchestrationStatus: JobStatus | null;
  /** Why it was skipped or failed (or that its kick-off was deduplicated). */
  reason: string | null;
  finishedAt: Date | null;
}

/** A schedule, as `schedules.get()` and `list()` return it. */
export interface ScheduleInfo {
  name: string;
  /** The tenant owning it (null: untenanted); names are per tenant, so an unscoped `list()` may show one name twice. */
  tenant: string | null;
  cron: string;
  timeZone: string;
  jobName: string;
  params: JobParams[] | null;
  paramsFactory: string | null;
  overlap: OverlapPolicy;
  enabled: boolean;
  kickOff: ScheduleKickOffOptions;
  /** The Cloud Scheduler job calling the tick, when production wiring is configured. */
  cloudSchedulerJob: string | null;
  createdAt: Date;
  updatedAt: Date;
  /** The latest cron fire time handled. */
  lastFireAt: Date | null;
  /** The next cron fire time (null while paused). */
  nextFireAt: Date | null;
  /** The latest run, cron or manual. */
  lastRun: Omit<ScheduleRunInfo, 'schedule' | 'finishedAt' | 'orchestrationStatus'> | null;
  /** The orchestration of the latest launched run. */
  lastOrchestrationId: string | null;
  /** The run a tick is launching right now under `skip` / `cancel-previous`, and since when. */
  launching: { runId: string; since: Date } | null;
}

/**
 * The public view of a schedule document, its params with `sensitiveKeys` (the schedule's kick-off
 * keys and its job class's declared ones) shown as `[REDACTED]`.
 */
export function toScheduleInfo(doc: ScheduleDoc, sensitiveKeys: readonly string[]): ScheduleInfo {
  const last = doc.lastRun;
  return {
    name: doc.name,
    tenant: doc.tenant,
    cron: doc.cron,
    timeZone: doc.timeZone,
    jobName: doc.jobName,
    params: doc.params && redactParams(doc.params, sensitiveKeys),
    paramsFactory: doc.paramsFactory,
    overlap: doc.overlap,
    enabled: doc.enabled,
    kickOff: doc.kickOff,
    cloudSchedulerJob: doc.cloudSchedulerJob,
    createdAt: doc.createdAt.toDate(),
    updatedAt: doc.updatedAt.toDate(),
    lastFireAt: doc.lastFireAt?.toDate() ?? null,
    nextFireAt: doc.nextFireAt?.toDate() ?? null,
    lastRun:
      last === null
        ? null
        : {
            id: last.runId,
            trigger: last.trigger,
            firedAt: last.firedAt.toDate(),
            outcome: last.outcome,
            skipped: last.outcome === 'skipped',
            orchestrationId: last.orchestrationId,
            reason: last.reason,
          },
    lastOrchestrationId: doc.lastOrchestrationId,
    launching:
      doc.launching === null ? null : { runId: doc.launching.runId, since: doc.launching.claimedAt.toDate() },
  };
}

/** The public view of a run document, with its orchestration's current status when known. */
export function toScheduleRunInfo(
  doc: ScheduleRunDoc,
  orchestrationStatus: JobStatus | null = null,
): ScheduleRunInfo {
  return {
    id: doc.id,
    schedule: doc.schedule,
    trigger: doc.trigger,
    firedAt: doc.firedAt.toDate(),
    outcome: doc.outcome,
    skipped: doc.outcome === 'skipped',
    orchestrationId: doc.orchestrationId,
    orchestrationStatus,
    reason: doc.reason,
    finishedAt: doc.finishedAt?.toDate() ?? null,
  };
}
