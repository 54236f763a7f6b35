import { createFirestore } from '@e11/core';
import { createPubSub } from '@e11/core/engine';
import { type Stack, startStack } from '@e11/emulators';
import { type OrchestrationService } from '@e11/sdk';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { CompletedEvents } from './helpers/completed-events.js';
import { stackService, suiteEmulators, testProjectId } from './helpers/project.js';

/**
 * Tasks that die before claiming their job (a container that crashes at start, an image that cannot
 * be pulled, a Firestore the runner cannot reach), on the whole local stack: Cloud Run's own task
 * retries run out, the sweeper sees the execution ended with the job never claimed, launches it again
 * while launches stay within the attempt budget, then dead-letters it with the cause, and the
 * orchestration ends with one event.
 */
const projectId = testProjectId('launch-lost');
const TOPIC = 'launch-lost-completed';
const firestore = createFirestore({ projectId, emulatorHost: inject('firestoreHost') });
const pubsub = createPubSub({ projectId, emulatorHost: inject('pubsubHost') });
const completed = new CompletedEvents();
let stack: Stack;
let orchestrations: OrchestrationService;

beforeAll(async () => {
  stack = await startStack({
    projectId,
    attach: suiteEmulators(),
    cloudRun: {
      jobs: {
        // The container exits 1 at once, before the runner could claim anything; Cloud Run retries once.
        'dies-at-start': { command: 'node', args: ['-e', 'process.exit(1)'], maxRetries: 1 },
      },
    },
    cloudRunOptions: { maxConcurrentTasks: 8, killGraceMs: 1_000 },
    topics: [TOPIC],
    // The test runs every sweep itself.
    sweepIntervalMs: 0,
    sweepOptions: { requeueGraceMs: 0, completionGraceMs: 0 },
  });
  orchestrations = stackService(
    stack,
    { projectId, firestore, pubsub, defaultTopic: TOPIC },
    { serviceName: { never_claims: 'dies-at-start' }, launch: { ratePerMinute: 100_000 } },
  );
  await completed.subscribe(pubsub, TOPIC);
});

afterAll(async () => {
  await completed.close();
  await orchestrations.close();
  await stack.stop();
  await pubsub.close();
  await firestore.terminate();
});

/** The orchestration's executions on the Cloud Run emulator. */
function executionsOf(orchestrationId: string) {
  return stack.cloudRun.listExecutions().filter((e) => e.env.ORCHESTRATION_ID === orchestrationId);
}

/**
 * Sweeps, each time once every execution of the orchestration ended (Cloud Run's retries included),
 * until its jobs are all terminal or `passes` sweeps ran. Returns the sweeps run.
 */
async function sweepUntilEnded(orchestrationId: string, passes: number): Promise<number> {
  for (let pass = 1; pass <= passes; pass++) {
    for (const execution of executionsOf(orchestrationId)) {
      await stack.cloudRun.waitForExecution(execution.name, { timeoutMs: 20_000 });
    }
    await stack.sweep();
    const jobs = await orchestrations.listJobs(orchestrationId);
    if (jobs.every((job) => job.status === 'Errored' || job.status === 'Completed')) return pass;
  }
  return passes;
}

describe('jobs whose tasks die before claiming them', () => {
  it('per-job mode: relaunches until the launches reach the attempt budget, then dead-letters with the cause', async () => {
    const { orchestrationId } = await orchestrations.kickOffJob('never_claims', [{ n: 1 }, { n: 2 }], {
      retry: { maxAttempts: 2 },
    });
    await sweepUntilEnded(orchestrationId, 4);

    const jobs = await orchestrations.listJobs(orchestrationId);
    expect(jobs.map((job) => [job.status, job.deadLettered])).toEqual([
      ['Errored', true],
      ['Errored', true],
    ]);
    for (const job of jobs) {
      expect(job.error?.code).toBe('E11_CRASHED');
      expect(job.error?.message).toMatch(/Launched 2 time\(s\); no task claimed the job/);
      expect(job.error?.message).toMatch(/exited with an error \(exit code 1\)/);
    }
    // Two launches per job, each with Cloud Run's own retry: never a third launch.
    expect(executionsOf(orchestrationId)).toHaveLength(4);
    expect(await completed.eventFor(orchestrationId)).toMatchObject({
      status: 'Errored',
      total: 2,
      failed: 2,
    });
    await stack.trigger.waitForIdle({ timeoutMs: 30_000 });
    await stack.sweep();
    expect(completed.of(orchestrationId)).toHaveLength(1);
  });

  it('array mode: relaunches the lost range as one array execution, then dead-letters every job', async () => {
    const { orchestrationId } = await orchestrations.kickOffJob(
      'never_claims',
      [{ n: 1 }, { n: 2 }, { n: 3 }],
      { mode: 'array', retry: { maxAttempts: 2 } },
    );
    await sweepUntilEnded(orchestrationId, 4);

    const jobs = await orchestrations.listJobs(orchestrationId);
    expect(jobs.map((job) => [job.status, job.deadLettered])).toEqual([
      ['Errored', true],
      ['Errored', true],
      ['Errored', true],
    ]);
    expect(jobs[0]?.error?.message).toMatch(/Launched 2 time\(s\); no task claimed the job/);
    // The kick-off's execution of three tasks, and one relaunch of the same three.
    expect(executionsOf(orchestrationId).map((e) => e.taskCount)).toEqual([3, 3]);
    expect(await completed.eventFor(orchestrationId)).toMatchObject({
      status: 'Errored',
      total: 3,
      failed: 3,
    });
    await stack.trigger.waitForIdle({ timeoutMs: 30_000 });
    await stack.sweep();
    expect(completed.of(orchestrationId)).toHaveLength(1);
  });
});
