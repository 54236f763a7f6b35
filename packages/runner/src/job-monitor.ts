import { E11Error, ErrorCode, JobStatus, type Logger, recordHeartbeat, type Store } from '@e11/sdk/core';

/**
 * When the job document last got a heartbeat: the monitor's own, or a progress or checkpoint write,
 * which carry `heartbeatAt` too (`performance.now()` ms, set once the write succeeded).
 */
export class HeartbeatClock {
  lastAt = Number.NEGATIVE_INFINITY;

  mark(): void {
    this.lastAt = performance.now();
  }
}

/**
 * While a job runs: writes its heartbeat every `intervalMs` unless another write gave it one within
 * that interval (so at most two intervals pass between heartbeats), and listens to its document so a
 * cancellation (status `Cancelled`) or a takeover by another task (a different claim) aborts `abort`
 * at once with an E11Error reason.
 */
export class JobMonitor {
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly store: Store,
    private readonly job: { orchestrationId: string; jobId: string; claimId: string },
    private readonly abort: AbortController,
    private readonly logger: Logger,
    private readonly clock: HeartbeatClock,
  ) {}

  start(intervalMs: number): void {
    this.timer = setInterval(() => {
      if (performance.now() - this.clock.lastAt < intervalMs) return;
      recordHeartbeat(this.store, this.job)
        .then(() => this.clock.mark())
        .catch((error: unknown) =>
          this.logger.warn({ err: (error as Error).message }, 'heartbeat write failed'),
        );
    }, intervalMs);
    this.timer.unref();
    this.unsubscribe = this.store.collections.job(this.job.orchestrationId, this.job.jobId).onSnapshot(
      (snapshot) => {
        if (this.abort.signal.aborted) return;
        const status = snapshot.get('status') as string | undefined;
        const claimId = (snapshot.get('claim') as { id?: string } | null | undefined)?.id;
        if (!snapshot.exists || status === JobStatus.Cancelled) {
          this.abort.abort(
            new E11Error(ErrorCode.Cancelled, 'The job was cancelled.', { context: this.job }),
          );
        } else if (
          (status === JobStatus.InProgress || status === JobStatus.Pending) &&
          claimId !== this.job.claimId
        ) {
          this.abort.abort(
            new E11Error(
              ErrorCode.Interrupted,
              'Another task took this job over (this one was presumed dead).',
              {
                context: this.job,
              },
            ),
          );
        }
      },
      (error) =>
        this.logger.warn(
          { err: error.message },
          'job listener failed; cancellation will not be noticed early',
        ),
    );
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }
}
