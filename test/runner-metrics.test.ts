import { type Clock, MetricName } from '@e11/core';
import { type E11Job, JobName, PermanentError, TransientError } from '@e11/runner';
import { runJobInProcess } from '@e11/runner/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type MetricsHarness, registerMeterProvider } from './helpers/metrics.js';

// The runner's real attempt loop (runJobInProcess), its writes in memory, on a clock the jobs move:
// each attempt's stored finishedAt − startedAt is known exactly, and the metrics must say the same.
let harness: MetricsHarness;
beforeAll(() => {
  harness = registerMeterProvider();
});
afterAll(() => harness.close());

let nowMs = Date.parse('2026-03-01T10:00:00Z');
const clock: Clock = { now: () => nowMs };
/** Time passes while the job works. */
const work = (ms: number) => {
  nowMs += ms;
};

/** The stored attempts' durations in seconds, as the job document says them. */
function storedSeconds(attempts: readonly { startedAt: number; finishedAt: number | null }[]): number[] {
  return attempts.map((attempt) => ((attempt.finishedAt ?? NaN) - attempt.startedAt) / 1000);
}

const counts = async (jobName: string) => ({
  started: await harness.sum(MetricName.jobsStarted, { 'e11.job.name': jobName }),
  completed: await harness.sum(MetricName.jobsEnded, { 'e11.job.name': jobName, 'e11.status': 'Completed' }),
  errored: await harness.sum(MetricName.jobsEnded, { 'e11.job.name': jobName, 'e11.status': 'Errored' }),
});

describe('the runner metrics of an attempt loop', () => {
  it('counts a start and a Completed end and records the attempt duration the job document holds', async () => {
    @JobName('metrics_success')
    class SuccessJob implements E11Job<{ n: number }, number> {
      run(params: { n: number }) {
        work(4_250);
        return params.n;
      }
    }

    const run = await runJobInProcess(SuccessJob, { n: 1 }, { clock });

    expect(run.status).toBe('Completed');
    expect(await counts('metrics_success')).toEqual({ started: 1, completed: 1, errored: 0 });
    const scoped = await harness.points(MetricName.jobsStarted);
    expect(scoped.find((p) => p.attributes['e11.job.name'] === 'metrics_success')?.scope).toBe('@e11/runner');
    expect(storedSeconds(run.attempts)).toEqual([4.25]);
    const duration = await harness.histogram(MetricName.attemptDuration, {
      'e11.job.name': 'metrics_success',
      'e11.status': 'Completed',
    });
    expect(duration?.value).toMatchObject({ count: 1, sum: 4.25 });
  });

  it('records each attempt of a retried job with its own outcome, and one start and one end', async () => {
    @JobName('metrics_retry', { maxAttempts: 3, backoff: { initialMs: 1_000, jitter: false } })
    class RetriedJob implements E11Job<{ n: number }, number> {
      run(params: { n: number }, ctx: { attempt: number }) {
        if (ctx.attempt === 1) {
          work(2_000);
          throw new TransientError('rate limited');
        }
        work(3_500);
        return params.n;
      }
    }

    const run = await runJobInProcess(RetriedJob, { n: 2 }, { clock });

    expect(run.status).toBe('Completed');
    expect(run.attempts.map((a) => a.outcome)).toEqual(['Errored', 'Completed']);
    expect(storedSeconds(run.attempts)).toEqual([2, 3.5]);
    expect(await counts('metrics_retry')).toEqual({ started: 1, completed: 1, errored: 0 });
    const errored = await harness.histogram(MetricName.attemptDuration, {
      'e11.job.name': 'metrics_retry',
      'e11.status': 'Errored',
    });
    const completed = await harness.histogram(MetricName.attemptDuration, {
      'e11.job.name': 'metrics_retry',
      'e11.status': 'Completed',
    });
    expect(errored?.value).toMatchObject({ count: 1, sum: 2 });
    expect(completed?.value).toMatchObject({ count: 1, sum: 3.5 });
  });

  it('counts a job out of attempts as Errored and dead-lettered, with every attempt recorded', async () => {
    @JobName('metrics_exhausted', { maxAttempts: 2 })
    class ExhaustedJob implements E11Job<{ n: number }, number> {
      run(): number {
        work(1_500);
        throw new TransientError('still down');
      }
    }

    const run = await runJobInProcess(ExhaustedJob, { n: 3 }, { clock });

    expect(run).toMatchObject({ status: 'Errored', deadLettered: true });
    expect(storedSeconds(run.attempts)).toEqual([1.5, 1.5]);
    expect(await counts('metrics_exhausted')).toEqual({ started: 1, completed: 0, errored: 1 });
    expect(
      await harness.sum(MetricName.jobsEnded, {
        'e11.job.name': 'metrics_exhausted',
        'e11.status': 'Errored',
        'e11.dead_lettered': true,
      }),
    ).toBe(1);
    const duration = await harness.histogram(MetricName.attemptDuration, {
      'e11.job.name': 'metrics_exhausted',
      'e11.status': 'Errored',
    });
    expect(duration?.value).toMatchObject({ count: 2, sum: 3, min: 1.5, max: 1.5 });
  });

  it('counts a permanent failure as Errored and not dead-lettered', async () => {
    @JobName('metrics_permanent', { maxAttempts: 3 })
    class PermanentJob implements E11Job<{ n: number }, number> {
      run(): number {
        work(800);
        throw new PermanentError('bad input');
      }
    }

    const run = await runJobInProcess(PermanentJob, { n: 4 }, { clock });

    expect(run).toMatchObject({ status: 'Errored', deadLettered: false });
    expect(
      await harness.sum(MetricName.jobsEnded, {
        'e11.job.name': 'metrics_permanent',
        'e11.status': 'Errored',
        'e11.dead_lettered': false,
      }),
    ).toBe(1);
    const duration = await harness.histogram(MetricName.attemptDuration, {
      'e11.job.name': 'metrics_permanent',
      'e11.status': 'Errored',
    });
    expect(duration?.value).toMatchObject({ count: 1, sum: 0.8 });
    expect(storedSeconds(run.attempts)).toEqual([0.8]);
  });

  it('records a timed-out attempt under the TimedOut outcome', async () => {
    @JobName('metrics_timeout', { maxAttempts: 1 })
    class SlowJob implements E11Job<{ n: number }, number> {
      async run(_params: { n: number }, ctx: { signal: AbortSignal }): Promise<number> {
        work(600);
        await new Promise((_, reject) =>
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error), { once: true }),
        );
        return 0;
      }
    }

    const run = await runJobInProcess(SlowJob, { n: 5 }, { clock, timeout: 50 });

    expect(run.attempts.map((a) => a.outcome)).toEqual(['TimedOut']);
    const duration = await harness.histogram(MetricName.attemptDuration, {
      'e11.job.name': 'metrics_timeout',
      'e11.status': 'TimedOut',
    });
    expect(duration?.value).toMatchObject({ count: 1, sum: storedSeconds(run.attempts)[0] });
    expect(await counts('metrics_timeout')).toEqual({ started: 1, completed: 0, errored: 1 });
  });

  it('records the attempt of a job given back on SIGTERM as Interrupted, with no end', async () => {
    const stop = new AbortController();
    @JobName('metrics_released', { maxAttempts: 3 })
    class StoppedJob implements E11Job<{ n: number }, number> {
      async run(_params: { n: number }, ctx: { signal: AbortSignal }): Promise<number> {
        work(2_200);
        stop.abort(new Error('SIGTERM'));
        await new Promise((_, reject) => {
          if (ctx.signal.aborted) reject(ctx.signal.reason as Error);
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error), { once: true });
        });
        return 0;
      }
    }

    const run = await runJobInProcess(StoppedJob, { n: 6 }, { clock, signal: stop.signal });

    expect(run.status).toBe('Pending');
    expect(run.attempts.map((a) => a.outcome)).toEqual(['Interrupted']);
    const duration = await harness.histogram(MetricName.attemptDuration, {
      'e11.job.name': 'metrics_released',
      'e11.status': 'Interrupted',
    });
    expect(duration?.value).toMatchObject({ count: 1, sum: 2.2 });
    expect(storedSeconds(run.attempts)).toEqual([2.2]);
    expect(await counts('metrics_released')).toEqual({ started: 1, completed: 0, errored: 0 });
  });
});
