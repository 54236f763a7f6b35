import { E11Error, ErrorCode } from '../errors.js';
import { serviceStore } from '../internal/service-store.js';

import { CronSchedule } from './cron.js';
import { fireSchedule, type ScheduleTickDeps, type TickResult } from './fire-schedule.js';
import { cronRunId } from './run-store.js';
import { validateScheduleName } from './schedule-definition.js';
import type { ScheduleDoc } from './schedule-documents.js';
import { listScheduleDocs, loadSchedule } from './schedule-store.js';

/** Which schedules a tick looks at, and for which fire time. */
export interface TickOptions {
  /** Only this schedule (a Cloud Scheduler job ticks one schedule). @default every enabled schedule */
  scheduleName?: string;
  /**
   * The scheduled fire time (Cloud Scheduler's `X-CloudScheduler-ScheduleTime`); needs `scheduleName`.
   * @default the latest fire time of the cron at or before now
   */
  fireTime?: Date;
}

/** The idempotency key of a cron fire: the same schedule and fire time always map to the same orchestration. */
export function scheduleIdempotencyKey(name: string, fireTime: Date): string {
  return `schedule:${name}:${fireTime.toISOString()}`;
}

/** The latest fire time of `schedule` that is due at `nowMs` and not handled yet, or null. */
export function dueFireTime(schedule: ScheduleDoc, nowMs: number): Date | null {
  const latest = new CronSchedule(schedule.cron, schedule.timeZone).latestAtOrBefore(nowMs);
  if (latest === null || latest.getTime() < schedule.notBefore.toMillis()) return null;
  if (schedule.lastFireAt && latest.getTime() <= schedule.lastFireAt.toMillis()) return null;
  return latest;
}

/**
 * One scheduler tick — what the Cloud Scheduler-called function and the local scheduler run. For each
 * enabled schedule (or just `scheduleName`) whose latest fire time is due (at or before now, not before
 * the schedule's `notBefore`, after its `lastFireAt`), fires that one time with the idempotency key
 * `schedule:{name}:{fireTime ISO}`. After downtime only the latest due fire runs, not every missed one:
 * a nightly job that missed three nights runs once. A duplicated or retried tick for the same fire
 * records one run and launches nothing twice. An explicit `fireTime` (Cloud Scheduler's) is used as
 * given unless it is before `notBefore`; the run document still dedupes it.
 *
 * Throws `E11_INVALID_SCHEDULE` / `E11_UNKNOWN_SCHEDULE` for a malformed / unknown `scheduleName`, `E11_INVALID_OPTIONS` for a `fireTime`
 * without `scheduleName`, and a transient error of one schedule after the others were handled.
 */
export async function runScheduleTick(
  deps: ScheduleTickDeps,
  options: TickOptions = {},
): Promise<TickResult[]> {
  const store = serviceStore(deps.service);
  if (options.fireTime !== undefined) {
    if (options.scheduleName === undefined) {
      throw new E11Error(
        ErrorCode.InvalidOptions,
        'fireTime: a fire time applies to one schedule; give scheduleName.',
        {
          context: { path: 'fireTime' },
        },
      );
    }
    if (!(options.fireTime instanceof Date) || Number.isNaN(options.fireTime.getTime())) {
      throw new E11Error(ErrorCode.InvalidOptions, 'fireTime: must be a valid Date.', {
        context: { path: 'fireTime' },
      });
    }
  }
  if (options.scheduleName !== undefined) validateScheduleName(options.scheduleName);
  const schedules =
    options.scheduleName === undefined
      ? await listScheduleDocs(store, { enabledOnly: true })
      : [await loadSchedule(store, options.scheduleName)];
  const nowMs = store.clock.now();
  const settled = await Promise.allSettled(
    schedules.map((schedule) => tickOne(deps, schedule, nowMs, options.fireTime)),
  );
  const failure = settled.find((outcome) => outcome.status === 'rejected');
  if (failure) throw failure.reason;
  return settled.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
}

async function tickOne(
  deps: ScheduleTickDeps,
  schedule: ScheduleDoc,
  nowMs: number,
  explicit: Date | undefined,
): Promise<TickResult> {
  const idle = { schedule: schedule.name, runId: null, orchestrationId: null };
  if (!schedule.enabled)
    return {
      ...idle,
      outcome: 'paused',
      fireTime: explicit?.toISOString() ?? null,
      reason: 'schedule is paused',
    };
  const fireTime =
    explicit === undefined
      ? dueFireTime(schedule, nowMs)
      : explicit.getTime() < schedule.notBefore.toMillis()
        ? null
        : explicit;
  if (fireTime === null) {
    return { ...idle, outcome: 'not-due', fireTime: explicit?.toISOString() ?? null, reason: null };
  }
  return fireSchedule(deps, schedule, {
    id: cronRunId(fireTime),
    trigger: 'cron',
    firedAt: fireTime,
    idempotencyKey: scheduleIdempotencyKey(schedule.name, fireTime),
    force: false,
  });
}
