import { Worker } from 'node:worker_threads';

import type { ActivityOutcome, ClientOptions, Logger, RunningJob } from '@e11/core';

import type { HeartbeatClock } from './heartbeat-clock.js';

/** What the watchdog thread is started with. */
export interface WatchdogData {
  shared: SharedArrayBuffer;
  base: number;
  intervalMs: number;
  /** How the thread creates its own Firestore client (the same project and emulator as the task's). */
  client: ClientOptions;
  collectionPrefix: string;
  job: RunningJob;
}

/** What the watchdog thread reports. */
export type WatchdogMessage =
  | { type: 'beat' }
  | { type: 'lost'; outcome: Exclude<ActivityOutcome, 'recorded'> }
  | { type: 'error'; message: string };

/**
 * Keeps a job's heartbeat going while its `run()` blocks the event loop (CPU-bound work): a worker
 * thread watches the job thread's liveness through a SharedArrayBuffer and, only once the loop has
 * been stuck for half an interval and no heartbeat was written for a whole one, writes the fenced
 * heartbeat itself with a Firestore client it creates then (a plain job never pays for that client;
 * the idle thread costs a few MB). Without it a long synchronous computation looks like a dead task,
 * is taken over and dead-lettered as crashed although it would finish. The thread never keeps the
 * process alive (unref) and is terminated when the job ends.
 */
export class HeartbeatWatchdog {
  private worker: Worker | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private told = false;

  constructor(
    private readonly clock: HeartbeatClock,
    private readonly settings: Omit<WatchdogData, 'shared' | 'base'>,
    private readonly logger: Logger,
    /** Called (on the job thread) when the watchdog's heartbeat was refused: the claim is gone. */
    private readonly onRefused: (outcome: Exclude<ActivityOutcome, 'recorded'>) => void,
  ) {}

  start(): void {
    const { intervalMs } = this.settings;
    this.ticker = setInterval(() => this.clock.alive(), Math.max(25, Math.floor(intervalMs / 4)));
    this.ticker.unref();
    const data: WatchdogData = { ...this.settings, shared: this.clock.shared, base: this.clock.base };
    let worker: Worker;
    try {
      worker = new Worker(new URL('./heartbeat-watchdog-worker.js', import.meta.url), {
        workerData: data,
        // A Firestore client created during a block fits in this heap; a young generation of 1 MB is
        // plenty for a thread that mostly sleeps.
        resourceLimits: { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 1 },
      });
    } catch (error) {
      // E.g. an image bundled into one file without the worker script: the job still runs, only a
      // blocked event loop is no longer covered.
      this.logger.warn(
        { err: error },
        'the heartbeat watchdog thread could not start: a job that blocks its event loop may be taken over',
      );
      return;
    }
    worker.unref();
    worker.on('message', (message: WatchdogMessage) => this.onMessage(message));
    worker.on('error', (error) => this.logger.warn({ err: error }, 'the heartbeat watchdog thread failed'));
    this.worker = worker;
  }

  /** Stops the liveness ticks and terminates the thread. */
  async stop(): Promise<void> {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = undefined;
    const worker = this.worker;
    this.worker = undefined;
    if (worker) await worker.terminate();
  }

  private onMessage(message: WatchdogMessage): void {
    if (message.type === 'lost') this.onRefused(message.outcome);
    else if (message.type === 'error') {
      this.logger.warn({ err: message.message }, 'the heartbeat watchdog could not write the heartbeat');
    } else if (!this.told) {
      this.told = true;
      this.logger.warn(
        'The job blocked its event loop for longer than a heartbeat interval; the watchdog thread wrote its heartbeat.',
      );
    }
  }
}
