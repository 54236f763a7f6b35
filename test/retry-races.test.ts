import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

import { createFirestore, type JobCompletedEvent, openEpoch, reopenJob } from '@e11/core';
import { createPubSub } from '@e11/core/engine';
import { type Stack, startStack } from '@e11/emulators';
import {
  CloudRunTaskService,
  type LaunchRequest,
  type LaunchResult,
  type OrchestrationService,
  type TaskLauncher,
} from '@e11/sdk';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { CompletedEvents } from './helpers/completed-events.js';
import { stackService, storeFor, suiteEmulators, testProjectId } from './helpers/project.js';
import { waitForSnapshot } from './helpers/wait-for.js';

/**
 * retryFailed against the sweeper and against itself, on the whole local stack: every reopened job is
 * launched once, and the orchestration ends again with one new event.
 */
const ENTRYPOINT = fileURLToPath(new URL('./fixtures/dist/runner-entrypoint.js', import.meta.url));
const projectId = testProjectId('retry-races');
const TOPIC = 'retry-races-completed';
const firestore = createFirestore({ projectId, emulatorHost: inject('firestoreHost') });
const pubsub = createPubSub({ projectId, emulatorHost: inject('pubsubHost') });
const base = { projectId, firestore, pubsub, defaultTopic: TOPIC };
const completed = new CompletedEvents();
let stack: Stack;
let orchestrations: OrchestrationService;

beforeAll(async () => {
  stack = await startStack({
    projectId,
    attach: suiteEmulators(),
    cloudRun: { jobs: { 'always-fails': { command: 'node', args: [ENTRYPOINT], maxRetries: 0 } } },
    cloudRunOptions: { maxConcurrentTasks: 8, killGraceMs: 1_000 },
    topics: [TOPIC],
    // The test runs every sweep itself, with no grace: whatever a sweep may relaunch, it relaunches.
    sweepIntervalMs: 0,
    sweepOptions: { requeueGraceMs: 0, completionGraceMs: 0 },
  });
  orchestrations = stackService(stack, base, { launch: { ratePerMinute: 100_000 } });
  await completed.subscribe(pubsub, TOPIC);
});

afterAll(async () => {
  await completed.close();
  await orchestrations.close();
  await stack.stop();
  await pubsub.close();
  await firestore.terminate();
});

/** An orchestration of `count` jobs that all failed, ended (its epoch-1 event arrived). */
async function failedOrchestration(count: number): Promise<{ orchestrationId: string; jobIds: string[] }> {
  const params = Array.from({ length: count }, (_, index) => ({ apiKey: `key-${index}` }));
  const { orchestrationId, jobIds } = await orchestrations.kickOffJob('always_fails', params);
  expect(await completed.eventFor(orchestrationId, 1)).toMatchObject({ status: 'Errored', failed: count });
  return { orchestrationId, jobIds };
}

/** Executions started per job id for the orchestration, on the Cloud Run emulator. */
function executionsPerJob(orchestrationId: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const execution of stack.cloudRun.listExecutions()) {
    if (execution.env.ORCHESTRATION_ID !== orchestrationId) continue;
    const jobId = execution.env.JOB_ID ?? '';
    counts.set(jobId, (counts.get(jobId) ?? 0) + 1);
  }
  return counts;
}

/** After every trigger delivery settled and a sweep, the orchestration's events, in arrival order. */
async function settledEvents(orchestrationId: string): Promise<JobCompletedEvent[]> {
  await stack.trigger.waitForIdle({ timeoutMs: 30_000 });
  await stack.sweep();
  return completed.of(orchestrationId);
}

/**
 * The real Cloud Run launcher whose launches wait until the test opens the gate: a retryFailed caller
 * pacing its launches (the rate limit, 429 backoff), held still while the test sweeps.
 */
class GatedLauncher implements TaskLauncher {
  private readonly real = new CloudRunTaskService({ projectId, endpoint: stack.cloudRun.endpoint });
  private open!: () => void;
  private readonly gate = new Promise<void>((resolve) => (this.open = resolve));
  private arrived!: () => void;
  /** Resolves when the first launch request arrived at the gate. */
  readonly firstRequest = new Promise<void>((resolve) => (this.arrived = resolve));

  async launch(request: LaunchRequest): Promise<LaunchResult> {
    this.arrived();
    await this.gate;
    return this.real.launch(request);
  }

  cancel(executionName: string): Promise<void> {
    return this.real.cancel(executionName);
  }

  release(): void {
    this.open();
  }

  close(): Promise<void> {
    return this.real.close();
  }
}

describe('retryFailed and the sweeper', () => {
  it('launches each reopened job once while sweeps run during its launches', async () => {
    const { orchestrationId, jobIds } = await failedOrchestration(3);
    const gated = new GatedLauncher();
    const slow = stackService(stack, base, { launcher: gated, launch: { ratePerMinute: 100_000 } });
    try {
      const retry = slow.retryFailed(orchestrationId);
      // Every job is reopened before the first launch; the launches now wait while the sweeper runs.
      await gated.firstRequest;
      expect((await orchestrations.listJobs(orchestrationId)).map((job) => job.status)).toEqual([
        'Pending',
        'Pending',
        'Pending',
      ]);
      const sweeps = [await stack.sweep(), await stack.sweep()];
      expect(sweeps.map((report) => report.relaunched)).toEqual([0, 0]);
      gated.release();
      const { epoch, jobIds: reopened } = await retry;
      expect(reopened.sort()).toEqual([...jobIds].sort());
      expect(await completed.eventFor(orchestrationId, epoch)).toMatchObject({
        status: 'Errored',
        failed: 3,
      });
    } finally {
      gated.release();
      await slow.close();
    }
    // One execution per job at kick-off, one for the retry: none from the sweeper.
    expect([...executionsPerJob(orchestrationId).values()]).toEqual([2, 2, 2]);
    expect(await settledEvents(orchestrationId)).toHaveLength(2);
  });

  it('leaves the jobs of a live retryFailed alone and launches them once its caller died', async () => {
    const { orchestrationId } = await failedOrchestration(2);
    // A backend process runs retryFailed with Cloud Run unreachable (its launches back off) and is
    // SIGKILLed once it reopened the jobs.
    const backend = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { OrchestrationService } from '@e11/sdk';
         const service = new OrchestrationService({ cloudRunEndpoint: '127.0.0.1:1', defaultTopic: '${TOPIC}' });
         await service.retryFailed('${orchestrationId}');`,
      ],
      {
        env: {
          ...process.env,
          GOOGLE_CLOUD_PROJECT: projectId,
          FIRESTORE_EMULATOR_HOST: inject('firestoreHost'),
          PUBSUB_EMULATOR_HOST: inject('pubsubHost'),
        },
        stdio: 'ignore',
      },
    );
    const exited = once(backend, 'exit');
    try {
      await waitForSnapshot(
        storeFor(firestore).collections.jobs(orchestrationId).where('status', '==', 'Pending'),
        (snapshot) => (snapshot.size < 2 ? undefined : true),
        { what: 'both jobs back to Pending', timeoutMs: 60_000 },
      );
    } finally {
      backend.kill('SIGKILL');
      await exited;
    }
    // Its launcher may still be working: nothing is launched beside it.
    expect((await orchestrations.sweep({ requeueGraceMs: 0 })).relaunched).toBe(0);
    // Sixteen minutes later (pendingTimeoutMs is 15) it has said nothing since: the sweep launches them.
    const later = stackService(stack, base, { clock: { now: () => Date.now() + 16 * 60_000 } });
    try {
      expect((await later.sweep({ requeueGraceMs: 0 })).relaunched).toBe(2);
    } finally {
      await later.close();
    }
    expect(await completed.eventFor(orchestrationId, 2)).toMatchObject({ status: 'Errored', failed: 2 });
    expect([...executionsPerJob(orchestrationId).values()]).toEqual([2, 2]);
    expect(await settledEvents(orchestrationId)).toHaveLength(2);
  });
});

describe('concurrent retryFailed calls', () => {
  it('never reopen a job into an epoch that already ended', async () => {
    const { orchestrationId, jobIds } = await failedOrchestration(1);
    // A call that read epoch 1 before it ended would reopen into it: the end is already published.
    const jobId = jobIds[0] as string;
    expect(await reopenJob(storeFor(firestore), { orchestrationId, jobId, epoch: 1 })).toBe('stale');
    expect((await orchestrations.getJob(orchestrationId, jobId)).status).toBe('Errored');
    expect((await orchestrations.getOrchestration(orchestrationId)).status).toBe('Errored');
  });

  it('never reopen a job that a concurrent call reopened and that failed again since it was read', async () => {
    const { orchestrationId, jobIds } = await failedOrchestration(1);
    const jobId = jobIds[0] as string;
    // Call A reopens the job (epoch 2); it runs and fails again before call B, which read it as failed
    // in epoch 1, gets to it: the job's second run was A's, B must not give it a third.
    const retried = await orchestrations.retryFailed(orchestrationId);
    expect(retried.epoch).toBe(2);
    expect(await completed.eventFor(orchestrationId, 2)).toMatchObject({ status: 'Errored', failed: 1 });
    const store = storeFor(firestore);
    expect(await openEpoch(store, { orchestrationId, jobId, failedInEpoch: 1 })).toEqual({
      outcome: 'unchanged',
    });
    expect(await reopenJob(store, { orchestrationId, jobId, epoch: 2, failedInEpoch: 1 })).toBe('unchanged');
    expect((await orchestrations.getOrchestration(orchestrationId)).status).toBe('Errored');
    expect(executionsPerJob(orchestrationId).get(jobId)).toBe(2);
  });

  it('five calls at once: every failed job runs once more and the orchestration ends with one new event', async () => {
    const { orchestrationId, jobIds } = await failedOrchestration(4);
    const calls = await Promise.all(
      Array.from({ length: 5 }, () => orchestrations.retryFailed(orchestrationId)),
    );
    const reopened = calls.flatMap((call) => call.jobIds);
    expect(reopened.sort()).toEqual([...jobIds].sort());
    const epoch = Math.max(...calls.map((call) => call.epoch));
    expect(await completed.eventFor(orchestrationId, epoch)).toMatchObject({
      status: 'Errored',
      total: 4,
      failed: 4,
    });
    expect([...executionsPerJob(orchestrationId).values()]).toEqual([2, 2, 2, 2]);
    const ended = await settledEvents(orchestrationId);
    expect(ended.map((e) => e.epoch)).toEqual([1, epoch]);
  });
});
