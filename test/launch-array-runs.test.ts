import { createFirestore } from '@e11/core';
import {
  acquireLaunchRateLimiter,
  type LaunchContext,
  launchJobs,
  launchRateLimiterKey,
} from '@e11/core/engine';
import { OrchestrationService } from '@e11/sdk';
import { afterAll, describe, expect, inject, it } from 'vitest';

import { runToFailure } from './helpers/monitoring.js';
import { storeFor, testProjectId } from './helpers/project.js';
import { RecordingLauncher } from './helpers/recording-launcher.js';

const projectId = testProjectId('launch-array-runs');
const firestore = createFirestore({ projectId, emulatorHost: inject('firestoreHost') });
const lease = acquireLaunchRateLimiter(launchRateLimiterKey(projectId, 'test'), 100_000);
afterAll(async () => {
  lease.release();
  await firestore.terminate();
});

describe('array-mode launches of some of the jobs', () => {
  it('start one execution per run of consecutive indices, offset by the run start', async () => {
    const launcher = new RecordingLauncher();
    const service = new OrchestrationService({ projectId, firestore, launcher });
    const store = storeFor(firestore);
    const kickOff = await service.kickOffJob(
      'process_batch',
      Array.from({ length: 8 }, (_, i) => ({ i })),
      { mode: 'array' },
    );
    expect(launcher.requests).toHaveLength(1);
    const orchestration = await store.collections.orchestration(kickOff.orchestrationId).get();
    const context: LaunchContext = {
      store: store,
      launcher,
      logger: service.logger,
      launch: {
        concurrency: 1,
        ratePerMinute: 100_000,
        burst: null,
        maxAttempts: 1,
        initialBackoffMs: 1,
        maxBackoffMs: 1,
        retryBudgetMs: 0,
        maxExecutionsInFlight: null,
      },
      rateLimiter: lease.limiter,
    };
    // Jobs 1, 2, 3, 6 and 7 (say, never launched): two runs.
    const subset = [7, 1, 3, 2, 6].map((index) => ({ id: kickOff.jobIds[index] as string, index }));
    const report = await launchJobs(context, {
      orchestration: {
        id: kickOff.orchestrationId,
        jobName: 'process_batch',
        service: 'process-batch',
        mode: 'array',
        policy: orchestration.get('policy') as never,
      },
      jobs: subset,
      concurrency: 1,
    });
    expect(report).toMatchObject({ launched: 5, failed: 0 });
    expect(
      launcher.requests.slice(1).map((request) => [request.taskCount, request.env.E11_TASK_INDEX_OFFSET]),
    ).toEqual([
      [3, '1'],
      [2, '6'],
    ]);
    await service.close();
  });

  it('relaunch the failed jobs retryFailed reopens as one execution whose tasks map to them', async () => {
    const launcher = new RecordingLauncher();
    const service = new OrchestrationService({
      projectId,
      firestore,
      launcher,
      launch: { ratePerMinute: 100_000 },
    });
    const store = storeFor(firestore);
    const { orchestrationId, jobIds } = await service.kickOffJob(
      'process_batch',
      Array.from({ length: 1_000 }, (_, i) => ({ i })),
      { mode: 'array' },
    );
    expect(launcher.requests).toHaveLength(1);
    // 30 scattered jobs fail for good (every 33rd, and the last).
    const failing = [...Array.from({ length: 29 }, (_, n) => n * 33 + 5), 999];
    for (const index of failing) await runToFailure(store, orchestrationId, jobIds[index] as string);
    const retried = await service.retryFailed(orchestrationId);
    expect(retried.jobIds).toHaveLength(30);
    expect(retried.launch).toMatchObject({ launched: 30, requests: 1 });
    expect(launcher.requests).toHaveLength(2);
    const request = launcher.requests[1];
    expect(request?.taskCount).toBe(30);
    expect(request?.env.E11_TASK_JOB_INDEXES).toBe(failing.join(','));
    expect(request?.env.E11_TASK_INDEX_OFFSET).toBeUndefined();
    // Each job counts the launch (the sweeper asks Cloud Run about that execution for it).
    const job = await service.getJob(orchestrationId, jobIds[999] as string);
    expect(job.executionName).toBe(retried.launch.executions[0]);
    await service.close();
  });
});
