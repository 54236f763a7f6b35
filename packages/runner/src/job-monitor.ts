import {
  type ActivityOutcome,
  type ClientOptions,
  E11Error,
  ErrorCode,
  type Logger,
  type RunningJob,
} from '@e11/core';

import type { HeartbeatClock } from './heartbeat-clock.js';
import { HeartbeatWatchdog } from './heartbeat-watchdog.js';
import type { JobWrites } from './job-writes.js';

/** What {@link JobMonitor} needs besides the store and the job. */
export interface JobMonitorOptions {
  /** Heartbeat interval. */
  intervalMs: number;
  /**
   * How the watchdog thread reaches Firestore; undefined: no watchdog thread (the job's writes do not
   * go to Firestore, e.g. an in-memory run of `@e11/runner/testing`).
   */
  client: ClientOptions | undefined;
  collectionPrefix: string;
}

/**
 * While a job runs: writes its heartbeat every `intervalMs` unless another write gave it one within
 * that interval (so at most two intervals pass between heartbeats), and keeps writing it from a
 * watchdog thread while the job blocks the event loop. Every heartbeat is fenced on the claim: one
 * that finds the job `Cancelled` or claimed by another task aborts `abort` with an E11Error reason, so
 * the task learns of a cancel or a takeover within two intervals (a `cancel()` of the orchestration also
 * stops its Cloud Run executions: SIGTERM, at once). No listener: it would cost a read per write of the
 * task itself (each heartbeat and progress echoes back), and on the Firestore emulator a listen stream
 * closed while a commit notifies it makes the emulator skip that commit's document triggers.
 */
export class JobMonitor {
  private timer: NodeJS.Timeout | undefined;
  private watchdog: HeartbeatWatchdog | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private busy = 0;

  constructor(
    private readonly writes: JobWrites,
    private readonly job: RunningJob,
    private readonly abort: AbortController,
    private readonly logger: Logger,
    readonly clock: HeartbeatClock,
  ) {}

  /**
   * Aborts the job for a refused write (`lost` or `cancelled`), unless it is aborted already, and
   * returns the abort's reason, which the refused write rejects with.
   */
  refused(outcome: Exclude<ActivityOutcome, 'recorded'>): unknown {
    if (!this.abort.signal.aborted) {
      this.abort.abort(
        outcome === 'cancelled'
          ? new E11Error(ErrorCode.Cancelled, 'The job was cancelled.', { context: { ...this.job } })
          : new E11Error(
              ErrorCode.ClaimLost,
              'This task no longer owns the job: another task took it over (this one was presumed dead) or it ended elsewhere.',
              { context: { ...this.job } },
            ),
      );
    }
    return this.abort.signal.reason;
  }

  /** The outcome of a fenced write: marks the heartbeat, or aborts and throws for a refused one. */
  settle(outcome: ActivityOutcome): void {
    if (outcome === 'recorded') this.clock.mark();
    else throw this.refused(outcome);
  }

  /**
   * Runs the task's writes to its job document one at a time, in call order: concurrent writes to one
   * document contend (a transaction's lock makes the others wait), so a heartbeat never races the
   * progress, checkpoint or final write of the same task, and the timer skips a heartbeat while a
   * write is queued (that write is the sign of life).
   */
  exclusive<T>(write: () => Promise<T>): Promise<T> {
    this.busy++;
    const run = this.queue.then(write).finally(() => {
      this.busy--;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  start(options: JobMonitorOptions): void {
    const { intervalMs } = options;
    this.timer = setInterval(() => {
      if (this.busy > 0 || this.abort.signal.aborted) return;
      if (this.clock.now() - this.clock.lastBeat() < intervalMs) return;
      this.beatInBackground();
    }, intervalMs);
    this.timer.unref();
    const { client } = options;
    if (client === undefined) return;
    this.watchdog = new HeartbeatWatchdog(
      this.clock,
      { intervalMs, client, collectionPrefix: options.collectionPrefix, job: this.job },
      this.logger,
      // The thread's own client said the claim is gone: confirm with this thread's client before
      // stopping the job (a thread that reached the wrong project must not abort a healthy job).
      () => this.beatInBackground(),
    );
    this.watchdog.start();
  }

  /** Writes the fenced heartbeat now (a refused one aborts the job and rejects). */
  async beat(): Promise<void> {
    this.settle(await this.exclusive(() => this.writes.recordHeartbeat(this.job)));
  }

  /** Writes the heartbeat without waiting; a failure is logged (a refusal has aborted the job already). */
  private beatInBackground(): void {
    this.beat().catch((error: unknown) => {
      if (!this.abort.signal.aborted) {
        this.logger.warn({ err: error }, 'heartbeat write failed');
      }
    });
  }

  /** Stops the heartbeat and the watchdog thread. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const watchdog = this.watchdog;
    this.watchdog = undefined;
    await watchdog?.stop();
  }
}
