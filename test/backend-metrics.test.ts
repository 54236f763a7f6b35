import {
  claimJob,
  completionDocSchema,
  loadJob,
  MetricName,
  parseDocument,
  releaseJob,
  type Store,
} from '@e11/core';
import { OrchestrationService } from '@e11/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type MetricsHarness, registerMeterProvider } from './helpers/metrics.js';
import { detectCompletion, ensureTopic, runToCompletion } from './helpers/monitoring.js';
import { emulatorClients, storeFor, testProjectId } from './helpers/project.js';
import { RecordingLauncher } from './helpers/recording-launcher.js';
import { manualClock } from './helpers/schedule-harness.js';

// The backend's own metrics (its MeterProvider in this process) on the emulators, on a clock the test
// moves: the values are compared with the stored times they are made of. The launcher records launches
// and starts nothing; the test plays the tasks through the store functions a runner calls.
const projectId = testProjectId('backend-metrics');
const { firestore, pubsub } = emulatorClients(projectId);
const clock = manualClock('2031-05-01T08:00:00Z');
const launcher = new RecordingLauncher();
let service: OrchestrationService;
const services: OrchestrationService[] = [];
let store: Store;
let harness: MetricsHarness;

beforeAll(async () => {
  harness = registerMeterProvider();
  service = new OrchestrationService({
    firestore,
    pubsub,
    clock,
    launcher,
    launch: { ratePerMinute: 100_000 },
  });
  store = storeFor(firestore, { clock });
  await ensureTopic(pubsub);
});
afterAll(async () => {
  await Promise.all([service, ...services].map((each) => each.close()));
  await harness.close();
  await firestore.terminate();
  await pubsub.close();
});

/** The published completion marker of an orchestration's first epoch. */
async function marker(orchestrationId: string) {
  return parseDocument(completionDocSchema, await store.collections.completion(orchestrationId, 1).get());
}

describe('the metrics of the backend', () => {
  it('records the event latency from the last job end to the publish, as the documents hold them', async () => {
    const kick = await service.kickOffJob('event_latency', [{ a: 1 }, { a: 2 }]);
    const [first, second] = kick.jobIds as [string, string];
    await runToCompletion(store, kick.orchestrationId, first);
    clock.advance(2_000);
    await runToCompletion(store, kick.orchestrationId, second);
    clock.advance(7_500);

    const check = await detectCompletion(store, pubsub, kick.orchestrationId);

    expect(check.outcome).toBe('published');
    const lastEnd = (await loadJob(store, kick.orchestrationId, second)).finishedAt?.toMillis() ?? NaN;
    const publishedAt = (await marker(kick.orchestrationId)).publishedAt?.toMillis() ?? NaN;
    expect(publishedAt - lastEnd).toBe(7_500);
    const latency = await harness.histogram(MetricName.eventLatency, { 'e11.job.name': 'event_latency' });
    expect(latency?.scope).toBe('@e11/core');
    expect(latency?.value).toMatchObject({ count: 1, sum: 7.5 });
  });

  it('counts the jobs cancel() ends as Cancelled, and the event latency of the end it publishes', async () => {
    const kick = await service.kickOffJob('cancel_metrics', [{ a: 1 }, { a: 2 }, { a: 3 }]);
    await runToCompletion(store, kick.orchestrationId, kick.jobIds[0] as string);
    clock.advance(3_000);

    expect(await service.cancel(kick.orchestrationId)).toMatchObject({ cancelled: 2 });

    const ended = (status: string) =>
      harness.sum(MetricName.jobsEnded, { 'e11.job.name': 'cancel_metrics', 'e11.status': status });
    expect(await ended('Cancelled')).toBe(2);
    const jobs = await Promise.all(kick.jobIds.map((id) => loadJob(store, kick.orchestrationId, id)));
    expect(jobs.map((job) => job.status)).toEqual(['Completed', 'Cancelled', 'Cancelled']);
    const lastEnd = Math.max(...jobs.map((job) => job.finishedAt?.toMillis() ?? NaN));
    const publishedAt = (await marker(kick.orchestrationId)).publishedAt?.toMillis() ?? NaN;
    const latency = await harness.histogram(MetricName.eventLatency, { 'e11.job.name': 'cancel_metrics' });
    expect(latency?.value).toMatchObject({ count: 1, sum: (publishedAt - lastEnd) / 1000 });
  });

  it('records launch latency and queue wait of a kick-off: the jobs waited since the orchestration was created', async () => {
    const before = launcher.requests.length;
    const kick = await service.kickOffJob('queued_metrics', [{ a: 1 }, { a: 2 }], { mode: 'array' });
    expect(await kick.launched).toMatchObject({ launched: 2 });
    expect(launcher.requests.length - before).toBe(1);

    // A launcher without a region (this one records requests): no cloud.region.
    const attributes = { 'e11.job.name': 'queued_metrics' };
    const launch = await harness.histogram(MetricName.launchLatency, attributes);
    const wait = await harness.histogram(MetricName.queueWait, attributes);
    // One execution for the two jobs of the array; the clock did not move while they launched.
    expect(launch?.value).toMatchObject({ count: 1, sum: 0 });
    expect(wait?.value).toMatchObject({ count: 2, sum: 0 });
  });

  it('records the queue wait of a delayed start from its startAt, not from the kick-off', async () => {
    const kick = await service.kickOffJob('delayed_metrics', [{ a: 1 }], { delay: '1s' });
    expect(kick.launch).toBeNull();
    // The start's timer runs on real time; meanwhile the backend's clock says 5 s passed.
    clock.advance(5_000);
    expect(await kick.launched).toMatchObject({ launched: 1 });

    const wait = await harness.histogram(MetricName.queueWait, { 'e11.job.name': 'delayed_metrics' });
    expect(wait?.value).toMatchObject({ count: 1, sum: 4 });
  });

  it('records the queue wait of a job the sweeper relaunches since it was made Pending again', async () => {
    // A collection prefix of its own: the sweep sees this orchestration only.
    const own = new OrchestrationService({ firestore, pubsub, clock, launcher, collectionPrefix: 'sweep_' });
    const ownStore = storeFor(firestore, { clock, collectionPrefix: 'sweep_' });
    services.push(own);
    const kick = await own.kickOffJob('relaunch_metrics', [{ a: 1 }]);
    await kick.launched;
    const jobId = kick.jobIds[0] as string;
    // Claimed by a task with attempts left (three).
    const claimId = 'task-1';
    const claimed = await claimJob(ownStore, {
      orchestrationId: kick.orchestrationId,
      jobId,
      claim: { id: claimId, executionName: null, taskIndex: null, taskAttempt: null },
      maxAttempts: 3,
      heartbeatTimeoutMs: 60_000,
    });
    expect(claimed.outcome).toBe('claimed');
    clock.advance(10_000);
    // The task was stopped (SIGTERM) with attempts left: it gave its job back.
    const released = await releaseJob(ownStore, {
      orchestrationId: kick.orchestrationId,
      jobId,
      claimId,
      outcome: 'Interrupted',
      error: {
        message: 'stopped',
        code: 'E11_INTERRUPTED',
        name: 'E11Error',
        stack: null,
        jobName: 'relaunch_metrics',
        orchestrationId: kick.orchestrationId,
        jobId,
        attempt: 1,
        retryable: true,
      },
    });
    expect(released).toBe('recorded');
    const madePendingAt = (await loadJob(ownStore, kick.orchestrationId, jobId)).updatedAt.toMillis();
    clock.advance(42_000);

    const report = await own.sweep({ requeueGraceMs: 0, pendingTimeoutMs: 0 });

    expect(report).toMatchObject({ relaunched: 1 });
    const wait = await harness.histogram(MetricName.queueWait, { 'e11.job.name': 'relaunch_metrics' });
    // The kick-off's launch waited 0 s; the relaunch since the release.
    expect(wait?.value).toMatchObject({ count: 2, sum: (clock.now() - madePendingAt) / 1000 });
    expect(wait?.value.max).toBe(42);
  });

  it('counts the jobs a permanently failed launch ends as Errored, not dead-lettered, and records no launch', async () => {
    // Cloud Run answers INVALID_ARGUMENT (3) to every request of this service: a permanent failure.
    const refusing = new RecordingLauncher().failWith(() => true, 3);
    const own = new OrchestrationService({
      firestore,
      pubsub,
      clock,
      launcher: refusing,
      collectionPrefix: 'fail_',
    });
    services.push(own);
    const kick = await own.kickOffJob('launch_fails', [{ a: 1 }, { a: 2 }]);
    expect(await kick.launched).toMatchObject({ launched: 0, failed: 2 });

    expect(
      await harness.sum(MetricName.jobsEnded, {
        'e11.job.name': 'launch_fails',
        'e11.status': 'Errored',
        'e11.dead_lettered': false,
      }),
    ).toBe(2);
    expect(
      await harness.histogram(MetricName.launchLatency, { 'e11.job.name': 'launch_fails' }),
    ).toBeUndefined();
  });

  it('counts a crashed job the sweeper dead-letters as Errored and dead-lettered', async () => {
    const own = new OrchestrationService({ firestore, pubsub, clock, launcher, collectionPrefix: 'crash_' });
    const ownStore = storeFor(firestore, { clock, collectionPrefix: 'crash_' });
    services.push(own);
    const kick = await own.kickOffJob('crash_metrics', [{ a: 1 }]);
    await kick.launched;
    // Its only attempt's task stops heartbeating: past the heartbeat timeout (60 s) it crashed.
    const claimed = await claimJob(ownStore, {
      orchestrationId: kick.orchestrationId,
      jobId: kick.jobIds[0] as string,
      claim: { id: 'task-1', executionName: null, taskIndex: null, taskAttempt: null },
      maxAttempts: 1,
      heartbeatTimeoutMs: 60_000,
    });
    expect(claimed.outcome).toBe('claimed');
    clock.advance(5 * 60_000);

    expect(await own.sweep({ requeueGraceMs: 0 })).toMatchObject({ deadLettered: 1 });

    expect(
      await harness.sum(MetricName.jobsEnded, {
        'e11.job.name': 'crash_metrics',
        'e11.status': 'Errored',
        'e11.dead_lettered': true,
      }),
    ).toBe(1);
  });
});
