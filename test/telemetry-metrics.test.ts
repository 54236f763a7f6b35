import {
  DURATION_BUCKETS_S,
  MetricName,
  metricsRecorded,
  recordAttemptDuration,
  recordEventLatency,
  recordJobsEnded,
  recordJobStarted,
  recordLaunchLatency,
  recordQueueWait,
} from '@e11/core';
import type { Histogram } from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it } from 'vitest';

import { type MetricsHarness, registerMeterProvider } from './helpers/metrics.js';

let harness: MetricsHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe('the metrics of @e11/core', () => {
  it('records nothing and reports no recording while no MeterProvider is registered', async () => {
    expect(metricsRecorded('@e11/core')).toBe(false);
    recordJobStarted('@e11/core', { jobName: 'before_registration' });
    harness = registerMeterProvider();
    expect(metricsRecorded('@e11/core')).toBe(true);
    // The instruments made before are the API's no-op ones: that start was not counted.
    expect(await harness.points(MetricName.jobsStarted)).toEqual([]);
    recordJobStarted('@e11/core', { jobName: 'after_registration' });
    const points = await harness.points<number>(MetricName.jobsStarted);
    expect(points.map((p) => [p.attributes['e11.job.name'], p.value])).toEqual([['after_registration', 1]]);
  });

  it('counts starts and ends under the recording package scope with the job name, region and status', async () => {
    harness = registerMeterProvider();
    recordJobStarted('@e11/runner', { jobName: 'resize', region: 'europe-west1' });
    recordJobStarted('@e11/runner', { jobName: 'resize', region: 'europe-west1' });
    recordJobsEnded('@e11/runner', { jobName: 'resize', status: 'Completed' });
    recordJobsEnded('@e11/core', { jobName: 'resize', status: 'Errored', deadLettered: true, count: 3 });
    recordJobsEnded('@e11/core', { jobName: 'resize', status: 'Cancelled' });

    const started = await harness.points<number>(MetricName.jobsStarted);
    expect(started).toEqual([
      expect.objectContaining({
        scope: '@e11/runner',
        attributes: { 'e11.job.name': 'resize', 'cloud.region': 'europe-west1' },
        value: 2,
      }),
    ]);
    expect(started[0]?.descriptor).toMatchObject({ type: 'COUNTER', unit: '{job}' });
    const ended = await harness.points<number>(MetricName.jobsEnded);
    expect(ended.map(({ scope, attributes, value }) => ({ scope, attributes, value }))).toEqual(
      expect.arrayContaining([
        {
          scope: '@e11/runner',
          attributes: { 'e11.job.name': 'resize', 'e11.status': 'Completed' },
          value: 1,
        },
        {
          scope: '@e11/core',
          attributes: { 'e11.job.name': 'resize', 'e11.status': 'Errored', 'e11.dead_lettered': true },
          value: 3,
        },
        { scope: '@e11/core', attributes: { 'e11.job.name': 'resize', 'e11.status': 'Cancelled' }, value: 1 },
      ]),
    );
    expect(ended).toHaveLength(3);
  });

  it('records the four durations as histograms in seconds with bucket boundaries from 10 ms to a day', async () => {
    harness = registerMeterProvider();
    recordAttemptDuration('@e11/runner', { jobName: 'resize', status: 'TimedOut', durationMs: 90_000 });
    recordLaunchLatency('@e11/core', { jobName: 'resize', region: 'us-central1', latencyMs: 1_250 });
    recordQueueWait('@e11/core', { jobName: 'resize', region: 'us-central1', waitMs: 7_200_000 });
    recordEventLatency('@e11/core', { jobName: 'resize', latencyMs: 400 });

    const expectations: [string, Record<string, string>, number][] = [
      [MetricName.attemptDuration, { 'e11.job.name': 'resize', 'e11.status': 'TimedOut' }, 90],
      [MetricName.launchLatency, { 'e11.job.name': 'resize', 'cloud.region': 'us-central1' }, 1.25],
      [MetricName.queueWait, { 'e11.job.name': 'resize', 'cloud.region': 'us-central1' }, 7200],
      [MetricName.eventLatency, { 'e11.job.name': 'resize' }, 0.4],
    ];
    for (const [name, attributes, seconds] of expectations) {
      const point = await harness.histogram(name, attributes);
      expect(point?.descriptor).toMatchObject({ type: 'HISTOGRAM', unit: 's' });
      expect(point?.value).toMatchObject({ count: 1, sum: seconds, min: seconds, max: seconds });
      expect(point?.value.buckets.boundaries).toEqual(DURATION_BUCKETS_S);
    }
    expect(DURATION_BUCKETS_S[0]).toBe(0.01);
    expect(DURATION_BUCKETS_S.at(-1)).toBe(86_400);
  });

  it('records a negative duration (clocks of two machines disagreeing) as 0 s', async () => {
    harness = registerMeterProvider();
    recordQueueWait('@e11/core', { jobName: 'resize', waitMs: -35 });
    const point = await harness.histogram(MetricName.queueWait, { 'e11.job.name': 'resize' });
    expect(point?.value).toMatchObject<Partial<Histogram>>({ count: 1, sum: 0, min: 0, max: 0 });
  });

  it('uses the MeterProvider registered last, not the one instruments were first made from', async () => {
    harness = registerMeterProvider();
    recordJobStarted('@e11/core', { jobName: 'first' });
    await harness.close();
    harness = registerMeterProvider();
    recordJobStarted('@e11/core', { jobName: 'second' });
    const points = await harness.points<number>(MetricName.jobsStarted);
    expect(points.map((p) => p.attributes['e11.job.name'])).toEqual(['second']);
  });
});
