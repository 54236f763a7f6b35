import { fileURLToPath } from 'node:url';

import { createFirestore } from '@e11/core';
import { createPubSub } from '@e11/core/engine';
import { type CloudRunEmulator, startCloudRunEmulator } from '@e11/emulators';
import {
  CloudRunTaskService,
  type LaunchRequest,
  type LaunchResult,
  OrchestrationService,
  type TaskLauncher,
} from '@e11/sdk';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { storeFor, testProjectId } from './helpers/project.js';

/**
 * Cloud Run's "job run requests per minute" quota answers 429 (RESOURCE_EXHAUSTED) for a while, and a
 * busy control plane 503 (UNAVAILABLE): both mean "launch later", never "failed". The windows here are
 * set by time (the emulator rejects every RunJob until a timer clears the fault), and outlast what a
 * small attempt count with short backoffs waits in total.
 */
const ENTRYPOINT = fileURLToPath(new URL('./fixtures/dist/runner-entrypoint.js', import.meta.url));
const projectId = testProjectId('launch-quota');
const firestore = createFirestore({ projectId, emulatorHost: inject('firestoreHost') });
const pubsub = createPubSub({ projectId, emulatorHost: inject('pubsubHost') });
/** Backoff options that give up in about a second today (6 attempts, waits of at most 200 ms). */
const SHORT_BACKOFF = { ratePerMinute: 100_000, initialBackoff: 20, maxBackoff: 200, maxAttempts: 6 };
let emulator: CloudRunEmulator;
let service: OrchestrationService;
/** The launcher of `service`, shared by the services the tests build (closed here, not by them). */
let cloudRun: CloudRunTaskService;
const timers = new Set<NodeJS.Timeout>();

beforeAll(async () => {
  await pubsub.createTopic('e11-job-completed');
  emulator = await startCloudRunEmulator({
    config: {
      jobs: {
        sleepy: {
          command: process.execPath,
          args: [ENTRYPOINT],
          maxRetries: 0,
          env: { FIRESTORE_EMULATOR_HOST: inject('firestoreHost'), GOOGLE_CLOUD_PROJECT: projectId },
        },
      },
    },
    killGraceMs: 500,
  });
  cloudRun = new CloudRunTaskService({ projectId, region: 'europe-west1', endpoint: emulator.endpoint });
  service = new OrchestrationService({
    projectId,
    firestore,
    pubsub,
    region: 'europe-west1',
    launcher: cloudRun,
    launch: SHORT_BACKOFF,
  });
});

afterAll(async () => {
  for (const timer of timers) clearTimeout(timer);
  await service.close();
  await cloudRun.close();
  await emulator.stop();
  await pubsub.close();
  await firestore.terminate();
});

/**
 * Every RunJob is rejected with `code` from now until `ms` after `started` settles (the kick-off's
 * registration, so the window is measured from the first launch attempt), whatever the number of calls.
 */
async function rejectRunsFor<T>(
  ms: number,
  code: 'RESOURCE_EXHAUSTED' | 'UNAVAILABLE',
  started: Promise<T>,
): Promise<T> {
  emulator.faults.rejectNextRuns(1_000_000, code);
  try {
    return await started;
  } finally {
    const timer = setTimeout(() => {
      timers.delete(timer);
      emulator.faults.clear();
    }, ms);
    timers.add(timer);
  }
}

const runJobCalls = () => emulator.stats().calls.RunJob ?? 0;

describe('launching through a quota window', () => {
  it('launches and completes every per-job job through 3 s of 429 answers', async () => {
    const before = runJobCalls();
    const result = await rejectRunsFor(
      3_000,
      'RESOURCE_EXHAUSTED',
      service.kickOffJob(
        'sleepy',
        Array.from({ length: 3 }, () => ({ ms: 10 })),
        {
          launchConcurrency: 2,
          background: true,
        },
      ),
    );
    expect(await result.launched).toMatchObject({ launched: 3, failed: 0 });
    // The window was really there: far more calls than jobs.
    expect(runJobCalls() - before).toBeGreaterThan(8);
    const [successes, failures] = await service.getJobResults(result.orchestrationId, { timeoutMs: 30_000 });
    expect(failures).toBeNull();
    expect(successes).toHaveLength(3);
  });

  it('launches and completes an array-mode orchestration through 3 s of 503 answers', async () => {
    const before = runJobCalls();
    const result = await rejectRunsFor(
      3_000,
      'UNAVAILABLE',
      service.kickOffJob(
        'sleepy',
        Array.from({ length: 6 }, () => ({ ms: 10 })),
        {
          mode: 'array',
          background: true,
        },
      ),
    );
    const launch = await result.launched;
    expect(launch).toMatchObject({ launched: 6, failed: 0 });
    expect(launch?.executions).toHaveLength(1);
    expect(runJobCalls() - before).toBeGreaterThan(4);
    const [successes, failures] = await service.getJobResults(result.orchestrationId, { timeoutMs: 30_000 });
    expect(failures).toBeNull();
    expect(successes).toHaveLength(6);
  });

  it('leaves the jobs Pending for the sweeper when the window outlasts the retry budget', async () => {
    const impatient = new OrchestrationService({
      projectId,
      firestore,
      pubsub,
      region: 'europe-west1',
      launcher: cloudRun,
      launch: { ...SHORT_BACKOFF, retryBudget: '1s' },
    });
    try {
      emulator.faults.rejectNextRuns(1_000_000, 'RESOURCE_EXHAUSTED');
      const result = await impatient.kickOffJob('sleepy', [{ ms: 10 }, { ms: 10 }]);
      emulator.faults.clear();
      expect(result.launch).toMatchObject({ launched: 0, failed: 0, deferred: 2 });
      const jobs = await impatient.listJobs(result.orchestrationId);
      expect(jobs.map((job) => [job.status, job.error])).toEqual([
        ['Pending', null],
        ['Pending', null],
      ]);
      // Not "launch completed": the sweeper's lost-launch rule applies once the kick-off is silent.
      const doc = await storeFor(firestore).collections.orchestration(result.orchestrationId).get();
      expect(doc.get('launchCompletedAt')).toBeNull();
      const sweep = await impatient.sweep({ pendingTimeoutMs: 0, requeueGraceMs: 0 });
      expect(sweep.relaunched).toBe(2);
      const [successes, failures] = await impatient.getJobResults(result.orchestrationId, {
        timeoutMs: 30_000,
      });
      expect(failures).toBeNull();
      expect(successes).toHaveLength(2);
    } finally {
      emulator.faults.clear();
      await impatient.close();
    }
  });
});

/** A launcher that notes when each request arrived and starts nothing. */
class TimedLauncher implements TaskLauncher {
  readonly times: number[] = [];
  launch(request: LaunchRequest): Promise<LaunchResult> {
    this.times.push(Date.now());
    return Promise.resolve({
      executionName: `projects/p/locations/r/jobs/${request.service}/executions/e${this.times.length}`,
    });
  }
  cancel(): Promise<void> {
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

describe('a caller that gives up', () => {
  it('stops launching when the kick-off signal aborts and leaves the jobs Pending', async () => {
    const controller = new AbortController();
    emulator.faults.rejectNextRuns(1_000_000, 'RESOURCE_EXHAUSTED');
    try {
      const before = runJobCalls();
      const result = await service.kickOffJob('sleepy', [{ ms: 10 }, { ms: 10 }, { ms: 10 }], {
        background: true,
        signal: controller.signal,
      });
      // Wait until the quota window has really been met, then give up.
      const deadline = Date.now() + 20_000;
      while (runJobCalls() - before < 3 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      controller.abort(new Error('shutting down'));
      const report = await result.launched;
      expect(report).toMatchObject({ launched: 0, failed: 0, deferred: 3 });
      const calls = runJobCalls();
      const jobs = await service.listJobs(result.orchestrationId);
      expect(jobs.every((job) => job.status === 'Pending')).toBe(true);
      const doc = await storeFor(firestore).collections.orchestration(result.orchestrationId).get();
      expect(doc.get('launchCompletedAt')).toBeNull();
      // Nothing is sent after the abort.
      expect(runJobCalls()).toBe(calls);
    } finally {
      emulator.faults.clear();
    }
  });
});

describe('the launch rate limit', () => {
  it('is shared by a service and its forTenant() views (one quota per project and region)', async () => {
    const launcher = new TimedLauncher();
    const parent = new OrchestrationService({
      projectId,
      firestore,
      pubsub,
      region: 'us-east4',
      launcher,
      launch: { ratePerMinute: 60 },
    });
    const tenant = parent.forTenant('acme');
    try {
      await Promise.all([parent.kickOffJob('sleepy', [{ ms: 1 }]), tenant.kickOffJob('sleepy', [{ ms: 1 }])]);
      const [first, second] = [...launcher.times].sort((a, b) => a - b) as [number, number];
      // 60 a minute is one a second, for both together.
      expect(second - first).toBeGreaterThanOrEqual(900);
    } finally {
      await Promise.all([tenant.close(), parent.close()]);
    }
  });

  it('does not hold kickOffJob for it: the call returns once the burst went, the rest launch at the pace', async () => {
    // 240 a minute: a burst of 4 at once, then one every 250 ms (16 jobs: about 3 s in all).
    const paced = new OrchestrationService({
      projectId,
      firestore,
      pubsub,
      region: 'asia-east1',
      launcher: cloudRun,
      launch: { ratePerMinute: 240 },
    });
    try {
      const before = runJobCalls();
      const result = await paced.kickOffJob(
        'sleepy',
        Array.from({ length: 16 }, () => ({ ms: 1 })),
      );
      const sentByReturn = runJobCalls() - before;
      const launch = result.launch;
      expect(launch?.launched).toBeGreaterThanOrEqual(4);
      expect(launch?.launched).toBeLessThan(16);
      expect(sentByReturn).toBeLessThan(16);
      expect(result.waiting).toBe(16 - (launch?.launched ?? 0));
      expect(await result.launched).toMatchObject({ launched: 16, failed: 0, deferred: 0 });
      expect(runJobCalls() - before).toBe(16);
      const [successes, failures] = await paced.getJobResults(result.orchestrationId, { timeoutMs: 30_000 });
      expect(failures).toBeNull();
      expect(successes).toHaveLength(16);
    } finally {
      await paced.close();
    }
  });
});
