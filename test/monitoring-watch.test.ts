import { completeJob, type E11Error, recordHeartbeat, recordProgress } from '@e11/core';
import { type JobTransition, type OrchestrationInfo } from '@e11/sdk';
import { activeListenerCount } from '@e11/sdk/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import {
  claim,
  detectCompletion,
  ensureTopic,
  monitoringService,
  Recorder,
  runToCompletion,
  runToFailure,
} from './helpers/monitoring.js';
import { emulatorClients, storeFor, testProjectId } from './helpers/project.js';

const projectId = testProjectId('monitoring-watch');
const { firestore, pubsub } = emulatorClients(projectId);
const service = monitoringService(firestore, pubsub, 'w_');
const store = storeFor(firestore, { collectionPrefix: 'w_' });

beforeAll(() => ensureTopic(pubsub));
// A failed test must not leave listeners behind for the next one.
afterEach(() => Recorder.unsubscribeAll());
afterAll(async () => {
  await service.close();
  await firestore.terminate();
  await pubsub.close();
});

async function kickOff(n: number) {
  const params = Array.from({ length: n }, (_, i) => ({ chunk: i }));
  return service.kickOffJob('process_batch', params, { tags: { customerId: 'acme' } });
}

describe('watch', () => {
  it('emits live snapshots as jobs move and completes after the snapshot in which the orchestration ended', async () => {
    const { orchestrationId, jobIds } = await kickOff(3);
    const watch = new Recorder<OrchestrationInfo>(service.watch(orchestrationId));
    const first = await watch.waitFor(() => true);
    expect(first).toMatchObject({ id: orchestrationId, status: 'InProgress', total: 3, progress: 0 });
    expect(first.counts).toEqual({ pending: 3, inProgress: 0, completed: 0, errored: 0, cancelled: 0 });

    const claimId = await claim(store, orchestrationId, jobIds[0] as string);
    await watch.waitFor((info) => info.counts.inProgress === 1);
    await runToCompletion(store, orchestrationId, jobIds[1] as string);
    await runToFailure(store, orchestrationId, jobIds[2] as string);
    const twoThirds = await watch.waitFor((info) => info.counts.completed === 1 && info.counts.errored === 1);
    expect(twoThirds.progress).toBeCloseTo(2 / 3);
    expect(watch.completed).toBe(false);

    await completeJob(store, { orchestrationId, jobId: jobIds[0] as string, claimId, result: null });
    await detectCompletion(store, pubsub, orchestrationId);
    await watch.done;
    expect(watch.error).toBeUndefined();
    const last = watch.values.at(-1);
    expect(last).toMatchObject({ status: 'Errored', progress: 1 });
    expect(last?.counts).toEqual({ pending: 0, inProgress: 0, completed: 2, errored: 1, cancelled: 0 });
    expect(last?.completedAt).toBeInstanceOf(Date);
    // No two consecutive snapshots are the same.
    const keys = watch.values.map((info) => JSON.stringify([info.status, info.counts, info.completedAt]));
    expect(keys.every((key, i) => i === 0 || key !== keys[i - 1])).toBe(true);
    expect(activeListenerCount()).toBe(0);
  });

  it('emits once and completes for an orchestration that already ended', async () => {
    const { orchestrationId, jobIds } = await kickOff(1);
    await runToCompletion(store, orchestrationId, jobIds[0] as string);
    await detectCompletion(store, pubsub, orchestrationId);
    const watch = new Recorder(service.watch(orchestrationId));
    await watch.done;
    expect(watch.values).toHaveLength(1);
    expect(watch.values[0]).toMatchObject({ status: 'Completed', progress: 1 });
    expect(activeListenerCount()).toBe(0);
  });

  it("with completeOn: 'jobs' completes once every job is terminal, without the completion function", async () => {
    const { orchestrationId, jobIds } = await kickOff(2);
    const watch = new Recorder(service.watch(orchestrationId, { completeOn: 'jobs' }));
    await watch.waitFor(() => true);
    for (const jobId of jobIds) await runToCompletion(store, orchestrationId, jobId);
    await watch.done;
    expect(watch.completed).toBe(true);
    expect(watch.values.at(-1)).toMatchObject({ status: 'InProgress', progress: 1, completedAt: null });
  });

  it('errors with E11_UNKNOWN_ORCHESTRATION for an unknown or malformed id and leaves no listener', async () => {
    for (const id of ['no-such-orchestration', 'a/b']) {
      const watch = new Recorder(service.watch(id));
      await watch.done;
      expect((watch.error as E11Error).code).toBe('E11_UNKNOWN_ORCHESTRATION');
    }
    expect(activeListenerCount()).toBe(0);
  });

  it('errors with E11_TIMEOUT when the orchestration does not end within timeoutMs', async () => {
    const { orchestrationId } = await kickOff(1);
    const watch = new Recorder(service.watch(orchestrationId, { timeoutMs: 300 }));
    await watch.done;
    expect(watch.error).toMatchObject({ code: 'E11_TIMEOUT', retryable: true });
    expect(watch.values.length).toBeGreaterThanOrEqual(1);
    expect(activeListenerCount()).toBe(0);
  });

  it('errors with E11_UNKNOWN_ORCHESTRATION when the orchestration is deleted while watched', async () => {
    const { orchestrationId } = await kickOff(1);
    const watch = new Recorder(service.watch(orchestrationId));
    await watch.waitFor(() => true);
    await firestore.recursiveDelete(store.collections.orchestration(orchestrationId));
    await watch.done;
    expect(watch.error).toMatchObject({ code: 'E11_UNKNOWN_ORCHESTRATION' });
    expect((watch.error as Error).message).toContain('deleted');
  });

  it('refuses bad options with E11_INVALID_OPTIONS', () => {
    expect(() => service.watch('x', { completeOn: 'never' as 'jobs' })).toThrow(/completeOn/);
    expect(() => service.watch('x', { timeoutMs: -1 })).toThrow(/timeoutMs/);
  });

  it('detaches both listeners on unsubscribe and emits nothing more when documents change', async () => {
    const { orchestrationId, jobIds } = await kickOff(2);
    const detached = new Recorder(service.watch(orchestrationId));
    await detached.waitFor(() => true);
    expect(activeListenerCount()).toBe(2);
    detached.subscription.unsubscribe();
    expect(activeListenerCount()).toBe(0);
    const seen = detached.values.length;

    // A second watcher proves the change was delivered to listeners; the detached one saw none of it.
    const control = new Recorder(service.watch(orchestrationId));
    await control.waitFor(() => true);
    await runToCompletion(store, orchestrationId, jobIds[0] as string);
    await control.waitFor((info) => info.counts.completed === 1);
    expect(detached.values).toHaveLength(seen);
    control.subscription.unsubscribe();
    expect(activeListenerCount()).toBe(0);
  });
});

describe('watchJobs', () => {
  it('emits every job as added, then one transition per meaningful change, skipping heartbeats, and completes at the end', async () => {
    const { orchestrationId, jobIds } = await kickOff(2);
    const [first, second] = jobIds as [string, string];
    const jobs = new Recorder<JobTransition>(service.watchJobs(orchestrationId));
    await jobs.waitFor((t) => t.job.id === second);
    expect(jobs.values.map((t) => [t.type, t.job.index, t.job.status, t.previousStatus])).toEqual([
      ['added', 0, 'Pending', null],
      ['added', 1, 'Pending', null],
    ]);
    expect(activeListenerCount()).toBe(3);

    const claimId = await claim(store, orchestrationId, first);
    const claimed = await jobs.waitFor((t) => t.job.status === 'InProgress');
    expect(claimed).toMatchObject({
      type: 'modified',
      previousStatus: 'Pending',
      job: { id: first, attempt: 1 },
    });
    const mark = jobs.values.length;
    await recordHeartbeat(store, { orchestrationId, jobId: first, claimId });
    await recordProgress(store, { orchestrationId, jobId: first, claimId }, 0.5, 'half way');
    const progressed = await jobs.waitFor(() => true, mark);
    // The heartbeat-only write came first, yet the next transition is the progress one.
    expect(progressed.job.progress).toMatchObject({ ratio: 0.5, message: 'half way' });

    await runToFailure(store, orchestrationId, second, 'disk full', 'E11_JOB_FAILED');
    const failed = await jobs.waitFor((t) => t.job.id === second && t.job.status === 'Errored');
    expect(failed.job.error).toMatchObject({ message: 'disk full', code: 'E11_JOB_FAILED' });
    expect(failed.previousStatus).toBe('InProgress');

    await completeJob(store, { orchestrationId, jobId: first, claimId, result: { rows: 3 } });
    await detectCompletion(store, pubsub, orchestrationId);
    await jobs.done;
    expect(jobs.error).toBeUndefined();
    expect(jobs.values.at(-1)).toMatchObject({
      job: { id: first, status: 'Completed' },
      previousStatus: 'InProgress',
    });
    expect(activeListenerCount()).toBe(0);
  });

  it('lists jobs whose tasks have not started (no job document yet) and reports their claim as a change', async () => {
    // Array mode records its one execution on the orchestration: no job has a document until claimed.
    const { orchestrationId, jobIds } = await service.kickOffJob(
      'process_batch',
      [{ chunk: 0 }, { chunk: 1 }, { chunk: 2 }],
      { mode: 'array' },
    );
    expect((await store.collections.jobs(orchestrationId).count().get()).data().count).toBe(0);
    const jobs = new Recorder<JobTransition>(service.watchJobs(orchestrationId));
    await jobs.waitFor((t) => t.job.index === 2);
    expect(jobs.values.map((t) => [t.type, t.job.id, t.job.status, t.job.params])).toEqual(
      jobIds.map((id, index) => ['added', id, 'Pending', { chunk: index }]),
    );
    await claim(store, orchestrationId, jobIds[1] as string);
    const claimed = await jobs.waitFor((t) => t.job.status === 'InProgress');
    expect(claimed).toMatchObject({
      type: 'modified',
      previousStatus: 'Pending',
      job: { index: 1, attempt: 1 },
    });
    expect((await store.collections.jobs(orchestrationId).count().get()).data().count).toBe(1);
  });

  it('with initial: false emits only changes made after subscribing', async () => {
    const { orchestrationId, jobIds } = await kickOff(2);
    const jobs = new Recorder<JobTransition>(
      service.watchJobs(orchestrationId, { initial: false, completeOn: 'jobs' }),
    );
    // The watch of the same orchestration is a signal that listeners are attached and saw the start.
    const control = new Recorder(service.watch(orchestrationId));
    await control.waitFor(() => true);
    for (const jobId of jobIds) await runToCompletion(store, orchestrationId, jobId);
    await jobs.done;
    control.subscription.unsubscribe();
    expect(jobs.values.every((t) => t.type === 'modified')).toBe(true);
    expect(
      jobs.values
        .filter((t) => t.job.status === 'Completed')
        .map((t) => t.job.index)
        .sort(),
    ).toEqual([0, 1]);
  });

  it('errors with E11_UNKNOWN_ORCHESTRATION for an unknown id and detaches its listeners', async () => {
    const jobs = new Recorder(service.watchJobs('missing'));
    await jobs.done;
    expect(jobs.error).toMatchObject({ code: 'E11_UNKNOWN_ORCHESTRATION' });
    expect(activeListenerCount()).toBe(0);
  });

  it('detaches all three listeners on unsubscribe', async () => {
    const { orchestrationId } = await kickOff(1);
    const jobs = new Recorder(service.watchJobs(orchestrationId));
    await jobs.waitFor(() => true);
    expect(activeListenerCount()).toBe(3);
    jobs.subscription.unsubscribe();
    expect(activeListenerCount()).toBe(0);
  });
});
