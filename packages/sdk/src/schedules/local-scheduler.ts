import { DEFAULTS, E11Error, ErrorCode } from '@e11/core';

import type { ScheduleTickDeps, TickResult } from '@e11/core/engine';
import { runScheduleTick } from '@e11/core/engine';

/** How {@link startLocalScheduler} runs. */
export interface LocalSchedulerOptions extends ScheduleTickDeps {
  /** Time between ticks. @default DEFAULTS.localSchedulerIntervalMs */
  intervalMs?: number;
  /** Called after every tick with what it did (for logs, dashboards and tests). */
  onTick?: (results: TickResult[]) => void;
  /** Called when a tick throws; the scheduler keeps ticking. @default logs a warning */
  onError?: (error: unknown) => void;
}

/** A running local scheduler. */
export interface LocalScheduler {
  /** Stops ticking and waits for a tick in progress. Single-flight. */
  stop(): Promise<void>;
}

/**
 * The local stack's stand-in for Cloud Scheduler: runs the same tick as the `schedulerTick` function
 * every `intervalMs` (first one at once), never two at a time. A tick derives each schedule's latest due
 * fire time from its cron, so a fire runs within one interval of its time, exactly once.
 */
export function startLocalScheduler(options: LocalSchedulerOptions): LocalScheduler {
  const intervalMs = options.intervalMs ?? DEFAULTS.localSchedulerIntervalMs;
  if (!Number.isInteger(intervalMs) || intervalMs < 10) {
    throw new E11Error(
      ErrorCode.InvalidOptions,
      `intervalMs: must be an integer of at least 10, got ${String(intervalMs)}.`,
      {
        context: { path: 'intervalMs' },
      },
    );
  }
  const logger = options.logger ?? options.service.logger;
  const onError =
    options.onError ??
    ((error: unknown) => logger.warn({ err: error }, 'Local scheduler tick failed; trying again next tick'));
  let running: Promise<void> | undefined;
  let stopping: Promise<void> | undefined;

  const tick = () => {
    if (running || stopping) return;
    running = runScheduleTick(options)
      .then((results) => options.onTick?.(results))
      .catch(onError)
      .finally(() => {
        running = undefined;
      });
  };
  const timer = setInterval(tick, intervalMs);
  tick();

  return {
    stop() {
      return (stopping ??= (async () => {
        clearInterval(timer);
        await running;
      })());
    },
  };
}
