import { randomUUID } from 'node:crypto';

import { OrchestrationService } from '@e11/sdk';
import { Timestamp } from '@google-cloud/firestore';
import { afterAll, describe, expect, it } from 'vitest';

import { registerJobs } from './helpers/completion.js';
import { emulatorClients, storeFor, testProjectId } from './helpers/project.js';
import { RecordingLauncher } from './helpers/recording-launcher.js';

const projectId = testProjectId('sweeper-registrations');
const { firestore, pubsub } = emulatorClients(projectId);
const launcher = new RecordingLauncher();
const orchestrations = new OrchestrationService({ firestore, pubsub, launcher });
const store = storeFor(firestore);
afterAll(async () => {
  await orchestrations.close();
  await Promise.all([firestore.terminate(), pubsub.close()]);
});

/** An orchestration whose kick-off stopped before registering all its jobs, created `ageMs` ago. */
async function unregistered(id: string, ageMs: number) {
  await registerJobs(store, 1, { orchestrationId: id, jobName: 'nightly_sync' });
  await store.collections
    .orchestration(id)
    .update({ registered: false, createdAt: Timestamp.fromMillis(Date.now() - ageMs) });
}

describe('the sweeper and unfinished registrations', () => {
  it('removes an abandoned registration however many younger ones are still being written', async () => {
    // 120 registrations still being written, whose ids sort before the abandoned one's.
    const young = Array.from({ length: 120 }, (_, i) => `0000${String(i).padStart(4, '0')}-${randomUUID()}`);
    for (const id of young) await unregistered(id, 60_000);
    const abandoned = `ffff-${randomUUID()}`;
    await unregistered(abandoned, 20 * 60_000);

    const report = await orchestrations.sweep();

    expect(report.abandoned).toBe(1);
    expect((await store.collections.orchestration(abandoned).get()).exists).toBe(false);
    expect((await store.collections.jobs(abandoned).count().get()).data().count).toBe(0);
    const left = await store.collections.orchestrations().where('registered', '==', false).get();
    expect(left.docs.map((doc) => doc.id).sort()).toEqual(young);
  });
});

describe('the sweeper and lost launches', () => {
  it('launches jobs that never got a document once, not again at the next pass', async () => {
    // A kick-off that registered 3 jobs and died before launching any, 20 minutes ago.
    const { orchestrationId } = await registerJobs(store, 3, { jobName: 'nightly_sync' });
    const longAgo = Timestamp.fromMillis(Date.now() - 20 * 60_000);
    await store.collections
      .orchestration(orchestrationId)
      .update({ status: 'InProgress', createdAt: longAgo, launchedAt: longAgo });
    const launched = () =>
      launcher.requests.filter((request) => request.env.ORCHESTRATION_ID === orchestrationId).length;

    expect((await orchestrations.sweep()).relaunched).toBe(3);
    expect(launched()).toBe(3);
    const jobs = await orchestrations.listJobs(orchestrationId);
    expect(jobs.map((job) => job.status)).toEqual(['Pending', 'Pending', 'Pending']);

    // The relaunched jobs wait for their tasks: the next pass leaves them alone.
    expect((await orchestrations.sweep()).relaunched).toBe(0);
    expect(launched()).toBe(3);
  });

  it('launches the never-launched jobs of a dead array kick-off as array executions of consecutive indices', async () => {
    // An array-mode kick-off of 6 jobs that launched jobs 2-3 (still running) and died 20 minutes ago.
    const { orchestrationId } = await registerJobs(store, 6, { jobName: 'nightly_sync' });
    const running = `projects/p/locations/r/jobs/nightly-sync/executions/${orchestrationId}`;
    launcher.states.set(running, { done: false, succeeded: 0, failed: 0, cancelled: 0 });
    const longAgo = Timestamp.fromMillis(Date.now() - 20 * 60_000);
    await store.collections.orchestration(orchestrationId).update({
      status: 'InProgress',
      mode: 'array',
      createdAt: longAgo,
      launchedAt: longAgo,
      executions: [running],
      arrayLaunches: [{ executionName: running, first: 2, count: 2 }],
    });
    const launches = () =>
      launcher.requests
        .filter((request) => request.env.ORCHESTRATION_ID === orchestrationId)
        .map((request) => [request.env.E11_TASK_INDEX_OFFSET ?? '0', request.taskCount]);

    expect((await orchestrations.sweep()).relaunched).toBe(4);
    expect(launches().sort()).toEqual([
      ['0', 2],
      ['4', 2],
    ]);
    // The new executions are theirs now: the next pass launches nothing.
    expect((await orchestrations.sweep()).relaunched).toBe(0);
    expect(launches()).toHaveLength(2);
  });
});
