import { loadJob, MetricName } from '@e11/core';
import { createRunnerLogger, runE11Job } from '@e11/runner';
import { metrics } from '@opentelemetry/api';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { afterAll, describe, expect, inject, it } from 'vitest';

import { AddNumbersJob } from './fixtures/dist/runner-jobs.js';
import { runnerHarness } from './helpers/runner.js';

// A task's MeterProvider exports every hour (a task lives for seconds): only runE11Job's flush before
// the end gets its points out.
const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
const provider = new MeterProvider({
  readers: [new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 })],
});
metrics.setGlobalMeterProvider(provider);
const harness = runnerHarness('runner-flush');
afterAll(async () => {
  await harness.close();
  metrics.disable();
  await provider.shutdown();
});

describe('runE11Job', () => {
  it('flushes the global MeterProvider before it ends, so a short task exports its points', async () => {
    const { orchestrationId, jobId, request } = await harness.kickOff('add_numbers', { a: 2, b: 3 });
    const lines: string[] = [];

    const result = await runE11Job([AddNumbersJob], {
      env: {
        ...request.env,
        GOOGLE_CLOUD_PROJECT: harness.projectId,
        FIRESTORE_EMULATOR_HOST: inject('firestoreHost'),
        E11_REGION: 'asia-northeast1',
      },
      firestore: harness.store.firestore,
      logger: createRunnerLogger({ write: (line) => lines.push(line) }),
      exit: false,
    });

    expect(result).toMatchObject({ outcome: 'completed', exitCode: 0 });
    const job = await loadJob(harness.store, orchestrationId, jobId);
    expect(job.status).toBe('Completed');
    const exported = exporter
      .getMetrics()
      .flatMap((resource) => resource.scopeMetrics)
      .filter((scope) => scope.scope.name === '@e11/runner')
      .flatMap((scope) => scope.metrics);
    const started = exported.find((metric) => metric.descriptor.name === MetricName.jobsStarted);
    expect(started?.dataPoints).toEqual([
      expect.objectContaining({
        attributes: { 'e11.job.name': 'add_numbers', 'cloud.region': 'asia-northeast1' },
        value: 1,
      }),
    ]);
    const attempt = exported.find((metric) => metric.descriptor.name === MetricName.attemptDuration);
    const [point] = attempt?.dataPoints ?? [];
    const stored = job.attempts[0];
    const storedS = ((stored?.finishedAt?.toMillis() ?? NaN) - (stored?.startedAt.toMillis() ?? NaN)) / 1000;
    // Measured on the same clock as the stored times, after the end write returned: at most that write's
    // own round trip later than finishedAt.
    expect((point?.value as { sum: number }).sum).toBeGreaterThanOrEqual(storedS);
    expect((point?.value as { sum: number }).sum).toBeLessThan(storedS + 1);
  });
});
