import { MetricName, orchestrationDocSchema, parseDocument } from '@e11/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type MetricsHarness, registerMeterProvider } from './helpers/metrics.js';
import { storeFor } from './helpers/project.js';
import { eventWithin, useRunnerStack } from './helpers/runner-stack.js';

// The backend in this process (its own MeterProvider) kicks off jobs on the local stack: the Cloud Run
// emulator creates the executions, the real runner runs them. Launch latency and queue wait are
// recorded here, on the system clock, and must fit inside what the orchestration document and the
// test's own watch say of the launch.
let harness: MetricsHarness;
beforeAll(() => {
  harness = registerMeterProvider();
});
const suite = useRunnerStack('launch-metrics', {
  cloudRunJobs: ['add-numbers'],
  service: { launch: { ratePerMinute: 100_000 } },
});
afterAll(() => harness.close());

describe('the launch metrics of a kick-off on the local stack', () => {
  it('records one launch latency per execution and one queue wait per job, within the launch the documents show', async () => {
    const params = [
      { a: 1, b: 2 },
      { a: 3, b: 4 },
      { a: 5, b: 6 },
    ];
    const before = Date.now();
    const kick = await suite.service.kickOffJob('add_numbers', params);
    const report = await kick.launched;
    const wallS = (Date.now() - before) / 1000;
    expect(report).toMatchObject({ launched: 3, failed: 0, deferred: 0 });
    expect(report?.executions).toHaveLength(3);
    expect(await eventWithin(suite, kick.orchestrationId, 60_000)).toMatchObject({ status: 'Completed' });

    const store = storeFor(suite.clients.firestore);
    const doc = parseDocument(
      orchestrationDocSchema,
      await store.collections.orchestration(kick.orchestrationId).get(),
    );
    const createdAt = doc.createdAt.toMillis();
    const launchedAt = doc.launchedAt?.toMillis() ?? NaN;
    const launchCompletedAt = doc.launchCompletedAt?.toMillis() ?? NaN;

    // The stack's Cloud Run region (E11_REGION of the test run) is the launcher's.
    const attributes = { 'e11.job.name': 'add_numbers', 'cloud.region': 'us-central1' };
    const launch = await harness.histogram(MetricName.launchLatency, attributes);
    const wait = await harness.histogram(MetricName.queueWait, attributes);
    expect(launch?.scope).toBe('@e11/core');
    expect(launch?.value.count).toBe(3);
    expect(wait?.value.count).toBe(3);
    // Each execution was decided after the launch started and existed before it was marked complete.
    expect(launch?.value.min).toBeGreaterThanOrEqual(0);
    expect(launch?.value.max).toBeLessThanOrEqual((launchCompletedAt - launchedAt) / 1000);
    expect(launch?.value.max).toBeLessThanOrEqual(wallS);
    // Each job waited from the orchestration's creation: at least until the launch started, at most
    // until every launch was answered.
    expect(wait?.value.min).toBeGreaterThanOrEqual((launchedAt - createdAt) / 1000);
    expect(wait?.value.max).toBeLessThanOrEqual((launchCompletedAt - createdAt) / 1000);
    expect(wait?.value.max).toBeLessThanOrEqual(wallS);
    // A job waits at least as long as its own execution took to exist.
    expect(wait?.value.sum).toBeGreaterThanOrEqual(launch?.value.sum ?? Infinity);
  });
});
