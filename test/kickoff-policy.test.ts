import { createFirestore, DEFAULTS, defaultJobPolicy, type JobPolicy } from '@e11/core';
import { createPubSub } from '@e11/core/engine';
import { type Stack, startStack } from '@e11/emulators';
import { JobName } from '@e11/runner';
import { OrchestrationService } from '@e11/sdk';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { CompletedEvents } from './helpers/completed-events.js';
import { stackService, storeFor, suiteEmulators, testProjectId } from './helpers/project.js';
import { RecordingLauncher } from './helpers/recording-launcher.js';

/**
 * A job's policy is resolved once, at kick-off — the kick-off's options over the job class's
 * `@JobName` settings over DEFAULTS — when the backend knows the class, and stored on the
 * orchestration, so the backend (the sweeper's attempt budget) and the container decide alike.
 * A kick-off by a name the backend does not know stores only what the kick-off set, as before.
 */
const projectId = testProjectId('kickoff-policy');
const TOPIC = 'kickoff-policy-completed';
const firestore = createFirestore({ projectId, emulatorHost: inject('firestoreHost') });
const pubsub = createPubSub({ projectId, emulatorHost: inject('pubsubHost') });
const store = storeFor(firestore);
const completed = new CompletedEvents();
let stack: Stack;
let onStack: OrchestrationService;

class TunedJob {
  run(params: { n: number }): number {
    return params.n;
  }
}
JobName('tuned_job', { maxAttempts: 5, backoff: { initialMs: 200, maxMs: 4_000 }, timeout: '2m' })(TunedJob);

/** Its container exits at once, before claiming anything (see the stack's `dies-at-start` job). */
class NeverClaimsJob {
  run(): void {}
}
JobName('never_claims', { maxAttempts: 2 })(NeverClaimsJob);

beforeAll(async () => {
  stack = await startStack({
    projectId,
    attach: suiteEmulators(),
    cloudRun: {
      jobs: { 'dies-at-start': { command: 'node', args: ['-e', 'process.exit(1)'], maxRetries: 0 } },
    },
    cloudRunOptions: { maxConcurrentTasks: 4, killGraceMs: 1_000 },
    topics: [TOPIC],
    sweepIntervalMs: 0,
    sweepOptions: { requeueGraceMs: 0, completionGraceMs: 0 },
  });
  onStack = stackService(
    stack,
    { projectId, firestore, pubsub, defaultTopic: TOPIC },
    { serviceName: { never_claims: 'dies-at-start' }, launch: { ratePerMinute: 100_000 } },
  );
  await completed.subscribe(pubsub, TOPIC);
});

afterAll(async () => {
  await completed.close();
  await onStack.close();
  await stack.stop();
  await pubsub.close();
  await firestore.terminate();
});

async function storedPolicy(orchestrationId: string): Promise<JobPolicy> {
  return (await store.collections.orchestration(orchestrationId).get()).get('policy') as JobPolicy;
}

describe('the policy resolved at kick-off', () => {
  it('is stored from the kick-off options over the class settings over DEFAULTS when the class is known', async () => {
    const launcher = new RecordingLauncher();
    const known = new OrchestrationService({
      projectId,
      firestore,
      pubsub,
      defaultTopic: TOPIC,
      launcher,
      jobs: [TunedJob],
    });
    const unknown = new OrchestrationService({ projectId, firestore, pubsub, defaultTopic: TOPIC, launcher });
    try {
      const declared = { maxAttempts: 5, initialBackoffMs: 200, maxBackoffMs: 4_000, jobTimeoutMs: 120_000 };
      const byClass = await unknown.kickOffJob(TunedJob, [{ n: 1 }]);
      expect(await storedPolicy(byClass.orchestrationId)).toEqual(defaultJobPolicy(declared));
      const byRegisteredName = await known.kickOffJob('tuned_job', [{ n: 1 }], {
        retry: { maxAttempts: 1 },
        timeout: '3s',
      });
      expect(await storedPolicy(byRegisteredName.orchestrationId)).toEqual(
        defaultJobPolicy({ ...declared, maxAttempts: 1, jobTimeoutMs: 3_000 }),
      );
      // A class without settings still gets every field decided: DEFAULTS.
      const plain = await unknown.kickOffJob(NeverClaimsJob, [{}], { retry: { maxBackoff: '9s' } });
      expect(await storedPolicy(plain.orchestrationId)).toEqual(
        defaultJobPolicy({
          maxAttempts: 2,
          initialBackoffMs: DEFAULTS.retryInitialBackoffMs,
          maxBackoffMs: 9_000,
        }),
      );
      // By a name the backend does not know: only what the kick-off set; the container fills the rest.
      const byName = await unknown.kickOffJob('tuned_job', [{ n: 1 }], { retry: { maxAttempts: 4 } });
      expect(await storedPolicy(byName.orchestrationId)).toEqual(defaultJobPolicy({ maxAttempts: 4 }));
    } finally {
      await known.close();
      await unknown.close();
    }
  });

  it("gives a never-claimed job of a class declaring maxAttempts: 2 two launches in the sweeper, not DEFAULTS' three", async () => {
    const { orchestrationId } = await onStack.kickOffJob(NeverClaimsJob, [{}]);
    const executions = () =>
      stack.cloudRun.listExecutions().filter((e) => e.env.ORCHESTRATION_ID === orchestrationId);
    for (let pass = 1; pass <= DEFAULTS.maxAttempts + 1; pass++) {
      for (const execution of executions())
        await stack.cloudRun.waitForExecution(execution.name, { timeoutMs: 20_000 });
      await stack.sweep();
      const [job] = await onStack.listJobs(orchestrationId);
      if (job?.status === 'Errored') break;
    }
    const [job] = await onStack.listJobs(orchestrationId);
    expect([job?.status, job?.deadLettered]).toEqual(['Errored', true]);
    expect(job?.error?.message).toMatch(/Launched 2 time\(s\); no task claimed the job/);
    expect(executions()).toHaveLength(2);
    expect(await completed.eventFor(orchestrationId)).toMatchObject({
      status: 'Errored',
      total: 1,
      failed: 1,
    });
  });
});
