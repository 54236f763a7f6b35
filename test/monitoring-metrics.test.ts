import { randomUUID } from 'node:crypto';

import { claimJob, completeJob, failJob, isE11Error } from '@e11/core';
import { OrchestrationService } from '@e11/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { claim, detectCompletion, ensureTopic, runToFailure } from './helpers/monitoring.js';
import { emulatorClients, storeFor, testProjectId } from './helpers/project.js';
import { RecordingLauncher } from './helpers/recording-launcher.js';

const projectId = testProjectId('monitoring-metrics');
const { firestore, pubsub } = emulatorClients(projectId);
// Durations come from the store clock: this test moves it instead of waiting.
let nowMs = Date.UTC(2032, 5, 1);
const clock = { now: () => nowMs };
const service = new OrchestrationService({
  firestore,
  pubsub,
  clock,
  launcher: new RecordingLauncher(),
  collectionPrefix: 'm_',
  launch: { ratePerMinute: 100_000 },
});
const store = storeFor(firestore, { collectionPrefix: 'm_', clock });

beforeAll(() => ensureTopic(pubsub));
afterAll(async () => {
  await service.close();
  await firestore.terminate();
  await pubsub.close();
});

/** Runs a job that takes `ms` on the store clock. */
async function runFor(orchestrationId: string, jobId: string, ms: number) {
  const claimId = await claim(store, orchestrationId, jobId);
  nowMs += ms;
  await completeJob(store, { orchestrationId, jobId, claimId, result: null });
}

describe('getMetrics', () => {
  it('reports per job name dispatched, completed, failed, retried, queue depth, running and duration percentiles', async () => {
    const old = await service.kickOffJob('process_batch', [{ old: true }]);
    await runFor(old.orchestrationId, old.jobIds[0] as string, 999_999);
    nowMs += 3_600_000;
    const since = new Date(nowMs);
    nowMs += 1_000;

    // process_batch: 6 jobs — 3 complete in 100/200/300 ms, 1 needs a second attempt then completes in 400 ms,
    // 1 fails for good, 1 waits.
    const batch = await service.kickOffJob(
      'process_batch',
      Array.from({ length: 6 }, (_, i) => ({ i })),
    );
    const [j0, j1, j2, j3, j4] = batch.jobIds as [string, string, string, string, string];
    await runFor(batch.orchestrationId, j0, 100);
    await runFor(batch.orchestrationId, j1, 200);
    await runFor(batch.orchestrationId, j2, 300);
    const claimId = randomUUID();
    await claimJob(store, {
      orchestrationId: batch.orchestrationId,
      jobId: j3,
      claim: { id: claimId, executionName: null, taskIndex: null, taskAttempt: null },
      maxAttempts: 2,
      heartbeatTimeoutMs: 60_000,
    });
    await failJob(store, {
      orchestrationId: batch.orchestrationId,
      jobId: j3,
      claimId,
      outcome: 'Errored',
      final: false,
      deadLettered: false,
      error: {
        message: 'flaky',
        code: 'E11_JOB_FAILED',
        name: null,
        stack: null,
        jobName: 'process_batch',
        orchestrationId: batch.orchestrationId,
        jobId: j3,
        attempt: 1,
        retryable: true,
      },
    });
    nowMs += 400;
    await completeJob(store, { orchestrationId: batch.orchestrationId, jobId: j3, claimId, result: null });
    await runToFailure(store, batch.orchestrationId, j4);

    // make_report: ended with 2 completed (500 ms each); plus one running and one waiting in another run.
    const report = await service.kickOffJob('make_report', [{ m: 1 }, { m: 2 }]);
    for (const jobId of report.jobIds) await runFor(report.orchestrationId, jobId, 500);
    await detectCompletion(store, pubsub, report.orchestrationId);
    const live = await service.kickOffJob('make_report', [{ m: 3 }, { m: 4 }]);
    await claim(store, live.orchestrationId, live.jobIds[0] as string);

    const metrics = await service.getMetrics({ since });
    expect(metrics).toMatchObject({ orchestrations: 3, truncated: false, since });
    expect(metrics.jobs.process_batch).toEqual({
      jobName: 'process_batch',
      orchestrations: 1,
      dispatched: 6,
      completed: 4,
      failed: 1,
      cancelled: 0,
      retried: 1,
      queueDepth: 1,
      running: 0,
      durationMs: { p50: 200, p90: 400, p99: 400, max: 400, samples: 4 },
    });
    expect(metrics.jobs.make_report).toEqual({
      jobName: 'make_report',
      orchestrations: 2,
      dispatched: 4,
      completed: 2,
      failed: 0,
      cancelled: 0,
      retried: 0,
      queueDepth: 1,
      running: 1,
      durationMs: { p50: 500, p90: 500, p99: 500, max: 500, samples: 2 },
    });

    const onlyReports = await service.getMetrics({ since, jobName: 'make_report' });
    expect(Object.keys(onlyReports.jobs)).toEqual(['make_report']);
    const truncated = await service.getMetrics({ since, maxOrchestrations: 1 });
    expect(truncated).toMatchObject({ orchestrations: 1, truncated: true });
    const sampled = await service.getMetrics({ since, jobName: 'process_batch', durationSamples: 2 });
    expect(sampled.jobs.process_batch?.durationMs?.samples).toBe(2);
    // The default window is the last day on the store clock: it includes the old run too.
    expect((await service.getMetrics()).jobs.process_batch?.dispatched).toBe(7);
  });

  it('has no duration statistics for a job name without completed jobs', async () => {
    const { orchestrationId, jobIds } = await service.kickOffJob('never_done', [{ a: 1 }]);
    await runToFailure(store, orchestrationId, jobIds[0] as string);
    const metrics = await service.getMetrics({ jobName: 'never_done' });
    expect(metrics.jobs.never_done).toMatchObject({ failed: 1, durationMs: null });
  });

  it('refuses bad options with E11_INVALID_OPTIONS', async () => {
    for (const options of [{ maxOrchestrations: 0 }, { durationSamples: -1 }, { since: new Date('nope') }]) {
      await expect(service.getMetrics(options)).rejects.toSatisfy((error) =>
        isE11Error(error, 'E11_INVALID_OPTIONS'),
      );
    }
  });
});
