import { completeJob } from '@e11/core';
import { OrchestrationService } from '@e11/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { captureIo } from './helpers/capture.js';
import { claim, ensureTopic, runToCompletion, runToFailure } from './helpers/monitoring.js';
import { emulatorClients, storeFor, testProjectId } from './helpers/project.js';
import { RecordingLauncher } from './helpers/recording-launcher.js';
import { rejection } from './helpers/rejection.js';

// The CLI's entry point, run in-process with captured output.
const { runCli } = await import('@e11/cli');

const projectId = testProjectId('max-parallel-admission');
const { firestore, pubsub } = emulatorClients(projectId);
let prefixes = 0;

beforeAll(() => ensureTopic(pubsub));
afterAll(async () => {
  await pubsub.close();
  await firestore.terminate();
});

/** Services on a collection prefix of their own, sharing one recording launcher (nothing runs). */
function services(count = 1) {
  const collectionPrefix = `mp${++prefixes}_`;
  const launcher = new RecordingLauncher();
  const make = () =>
    new OrchestrationService({
      firestore,
      pubsub,
      launcher,
      collectionPrefix,
      launch: { ratePerMinute: 100_000, initialBackoff: 1, maxBackoff: 5 },
    });
  const all = Array.from({ length: count }, make);
  return {
    all,
    make,
    service: all[0] as OrchestrationService,
    launcher,
    store: storeFor(firestore, { collectionPrefix }),
  };
}

describe('maxParallel admission', () => {
  it('launches the first N, admits one job per freed slot, each exactly once among concurrent sweepers', async () => {
    const { all, service, launcher, store } = services(4);
    const { orchestrationId, jobIds, launch, waiting } = await service.kickOffJob(
      'process_batch',
      Array.from({ length: 6 }, (_, i) => ({ i })),
      { maxParallel: 2 },
    );
    expect(launch).toMatchObject({ launched: 2, requests: 2 });
    expect(waiting).toBe(4);
    const launchedJobs = () => launcher.requests.map((request) => request.env.JOB_ID);
    expect(launchedJobs()).toEqual([jobIds[0], jobIds[1]]);
    expect(await service.getOrchestration(orchestrationId)).toMatchObject({ maxParallel: 2, admitted: 2 });
    expect((await service.getJob(orchestrationId, jobIds[5] as string)).waiting).toBe('maxParallel');
    expect((await service.getJob(orchestrationId, jobIds[0] as string)).waiting).toBeNull();

    // No slot is free: a sweep admits nothing.
    await service.sweep({ requeueGraceMs: 0 });
    expect(launchedJobs()).toHaveLength(2);

    // Two jobs end: four sweepers at once admit exactly the next two, once each.
    await runToCompletion(store, orchestrationId, jobIds[0] as string);
    await runToCompletion(store, orchestrationId, jobIds[1] as string);
    await Promise.all(all.map((sweeper) => sweeper.sweep({ requeueGraceMs: 0 })));
    expect(launchedJobs()).toEqual(jobIds.slice(0, 4));
    expect(await service.getOrchestration(orchestrationId)).toMatchObject({ admitted: 4 });
    const listed = await service.listJobs(orchestrationId);
    expect(listed.map((job) => job.waiting)).toEqual([null, null, null, null, 'maxParallel', 'maxParallel']);

    // Paused: nothing is admitted, and the waiting jobs say why.
    await service.pause(orchestrationId);
    await runToCompletion(store, orchestrationId, jobIds[2] as string);
    await service.sweep({ requeueGraceMs: 0 });
    expect(launchedJobs()).toHaveLength(4);
    expect((await service.getJob(orchestrationId, jobIds[5] as string)).waiting).toBe('paused');
    // resume() fills the slot the pause kept free.
    expect(await service.resume(orchestrationId)).toMatchObject({ resumed: true, launched: 1 });
    expect(launchedJobs()).toEqual(jobIds.slice(0, 5));
    await Promise.all(all.map((sweeper) => sweeper.close()));
  });

  it('puts the jobs retryFailed reopens back in line: never more than maxParallel relaunched at once', async () => {
    const { service, launcher, store } = services();
    const { orchestrationId, jobIds } = await service.kickOffJob(
      'process_batch',
      Array.from({ length: 6 }, (_, i) => ({ i })),
      { maxParallel: 2 },
    );
    const launchedJobs = () => launcher.requests.map((request) => request.env.JOB_ID);
    // Two at a time: jobs 0-4 fail for good, job 5 succeeds.
    for (const pair of [0, 2, 4]) {
      for (const index of [pair, pair + 1]) {
        const jobId = jobIds[index] as string;
        if (index === 5) await runToCompletion(store, orchestrationId, jobId);
        else await runToFailure(store, orchestrationId, jobId);
      }
      await service.sweep({ requeueGraceMs: 0 });
    }
    expect(launchedJobs()).toEqual(jobIds);

    const retried = await service.retryFailed(orchestrationId);
    expect([...retried.jobIds].sort()).toEqual(jobIds.slice(0, 5).sort());
    expect(retried.launch).toMatchObject({ launched: 2 });
    expect(launchedJobs().slice(6)).toEqual(jobIds.slice(0, 2));
    expect((await service.getJob(orchestrationId, jobIds[4] as string)).waiting).toBe('maxParallel');
    expect((await service.getJob(orchestrationId, jobIds[0] as string)).waiting).toBeNull();

    // The relaunched two run; a sweep that deems every launcher gone still launches none of the others.
    const claims = await Promise.all(jobIds.slice(0, 2).map((jobId) => claim(store, orchestrationId, jobId)));
    await service.sweep({ requeueGraceMs: 0, pendingTimeoutMs: 0 });
    expect(launchedJobs()).toHaveLength(8);

    // Each end admits the next reopened job, in index order.
    await completeJob(store, {
      orchestrationId,
      jobId: jobIds[0] as string,
      claimId: claims[0] as string,
      result: null,
    });
    await service.sweep({ requeueGraceMs: 0 });
    expect(launchedJobs().slice(8)).toEqual([jobIds[2]]);
    await service.close();
  });

  it('retries a cancelled orchestration within maxParallel: jobs never admitted wait for the cursor, none launched twice', async () => {
    const { service, launcher, store } = services();
    const { orchestrationId, jobIds } = await service.kickOffJob(
      'process_batch',
      Array.from({ length: 5 }, (_, i) => ({ i })),
      { maxParallel: 2 },
    );
    await service.cancel(orchestrationId);
    const retried = await service.retryFailed(orchestrationId, { jobIds });
    expect(retried.jobIds).toHaveLength(5);
    expect(retried.launch).toMatchObject({ launched: 2 });
    const launchedJobs = () => launcher.requests.map((request) => request.env.JOB_ID);
    expect(launchedJobs()).toEqual([...jobIds.slice(0, 2), ...jobIds.slice(0, 2)]);
    // The rest are admitted as the relaunched ones end, each once.
    for (let index = 0; index < 5; index++) {
      await runToCompletion(store, orchestrationId, jobIds[index] as string);
      await service.sweep({ requeueGraceMs: 0 });
    }
    expect(launchedJobs().slice(4)).toEqual(jobIds.slice(2));
    expect(await service.getOrchestration(orchestrationId)).toMatchObject({ counts: { completed: 5 } });
    await service.close();
  });

  it('shows the limit and why jobs wait in the CLI', async () => {
    const { service, make } = services();
    const { orchestrationId, jobIds } = await service.kickOffJob(
      'process_batch',
      Array.from({ length: 5 }, (_, i) => ({ i })),
      { maxParallel: 3 },
    );
    await service.close();
    const run = async (argv: string[]) => {
      const io = captureIo({});
      const code = await runCli(argv, io, make);
      return { code, stdout: io.stdout.text };
    };
    const status = await run(['status', orchestrationId]);
    expect(status).toMatchObject({ code: 0 });
    expect(status.stdout).toContain('at most 3 at once (2 wait for a slot)');
    const jobs = await run(['jobs', orchestrationId]);
    expect(jobs.code).toBe(0);
    const lines = jobs.stdout.trim().split('\n');
    expect(lines).toHaveLength(6);
    expect(lines[1]).toMatch(new RegExp(`^0\\s+${jobIds[0] ?? ''}\\s+Pending\\s+0$`));
    expect(lines[5]).toMatch(
      new RegExp(`^4\\s+${jobIds[4] ?? ''}\\s+Pending\\s+0\\s+waiting for a slot \\(maxParallel\\)$`),
    );
    const json = await run(['jobs', orchestrationId, '--json']);
    expect((JSON.parse(json.stdout) as { waiting: string | null }[]).map((job) => job.waiting)).toEqual([
      null,
      null,
      null,
      'maxParallel',
      'maxParallel',
    ]);
  });

  it('refuses a maxParallel that is not a positive integer, writing nothing', async () => {
    const { service, store, launcher } = services();
    for (const maxParallel of [0, -1, 1.5, Number.NaN]) {
      const error = await rejection(service.kickOffJob('process_batch', [{ i: 0 }], { maxParallel }));
      expect(error).toMatchObject({ code: 'E11_INVALID_OPTIONS', context: { path: 'maxParallel' } });
    }
    expect((await store.collections.orchestrations().limit(1).get()).empty).toBe(true);
    expect(launcher.requests).toHaveLength(0);
    await service.close();
  });
});

describe('concurrency keys', () => {
  it('share a limit across orchestrations, hand slots round robin, and free a slot when its job ends', async () => {
    const { all, service, launcher, store } = services(3);
    const launchedJobs = () => launcher.requests.map((request) => request.env.JOB_ID as string);
    const a = await service.kickOffJob(
      'process_batch',
      Array.from({ length: 6 }, (_, i) => ({ i })),
      {
        concurrency: { key: 'db', limit: 2 },
      },
    );
    expect(a).toMatchObject({ launch: { launched: 2 }, waiting: 4 });
    const b = await service.kickOffJob(
      'process_batch',
      Array.from({ length: 6 }, (_, i) => ({ i })),
      {
        concurrency: { key: 'db', limit: 2 },
      },
    );
    // The key's two slots are taken: B waits for them, and says so.
    expect(b).toMatchObject({ waiting: 6 });
    expect((await service.getJob(b.orchestrationId, b.jobIds[0] as string)).waiting).toBe('concurrencyKey');
    expect(await service.getOrchestration(b.orchestrationId)).toMatchObject({
      concurrencyKey: 'db',
      admitted: 0,
    });
    // Another key has its own slots.
    const c = await service.kickOffJob('process_batch', [{ i: 0 }, { i: 1 }], {
      concurrency: { key: 'api', limit: 1 },
    });
    expect(c).toMatchObject({ launch: { launched: 1 }, waiting: 1 });

    // Each end frees one slot; the sweeps hand them out alternately while both wait.
    const owner = new Map<string, string>();
    for (const [id, jobs] of [
      [a.orchestrationId, a.jobIds],
      [b.orchestrationId, b.jobIds],
    ] as const) {
      for (const jobId of jobs) owner.set(jobId, id);
    }
    const ended = new Set<string>();
    for (let round = 0; round < 6; round++) {
      const running = launchedJobs().filter((jobId) => owner.has(jobId) && !ended.has(jobId));
      expect(running.length).toBeLessThanOrEqual(2);
      const next = running[0] as string;
      await runToCompletion(store, owner.get(next) as string, next);
      ended.add(next);
      // Three sweepers at once: each freed slot is given once.
      await Promise.all(all.map((sweeper) => sweeper.sweep({ requeueGraceMs: 0 })));
    }
    const keyed = launchedJobs().filter((jobId) => owner.has(jobId));
    expect(keyed).toHaveLength(8);
    // After A's first two, the six admitted since went three to each orchestration.
    const after = keyed.slice(2).map((jobId) => owner.get(jobId));
    expect(after.filter((id) => id === a.orchestrationId)).toHaveLength(3);
    expect(after.filter((id) => id === b.orchestrationId)).toHaveLength(3);

    // Cancelling B frees the slots its admitted jobs held: A takes them.
    await service.cancel(b.orchestrationId);
    await service.sweep({ requeueGraceMs: 0 });
    const running = launchedJobs().filter(
      (jobId) => owner.get(jobId) === a.orchestrationId && !ended.has(jobId),
    );
    expect(running).toHaveLength(2);
    await Promise.all(all.map((sweeper) => sweeper.close()));
  });

  it('pause a key: no orchestration sharing it is admitted until resumeKey, in the API and the CLI', async () => {
    const { service, launcher, store, make } = services();
    const launchedJobs = () => launcher.requests.map((request) => request.env.JOB_ID as string);
    const a = await service.kickOffJob('process_batch', [{ i: 0 }, { i: 1 }, { i: 2 }], {
      concurrency: { key: 'ledger-db', limit: 1 },
    });
    const b = await service.kickOffJob('process_batch', [{ i: 0 }], {
      concurrency: { key: 'ledger-db', limit: 1 },
    });
    expect(launchedJobs()).toEqual([a.jobIds[0]]);
    const run = async (argv: string[]) => {
      const io = captureIo({});
      const code = await runCli(argv, io, make);
      return { code, stdout: io.stdout.text, stderr: io.stderr.text };
    };
    const paused = await run(['pause', '--key', 'ledger-db']);
    expect(paused.code).toBe(0);
    expect(paused.stdout).toContain('Paused');
    // The running job ends: its slot stays free, for a and b alike, whoever asks.
    await runToCompletion(store, a.orchestrationId, a.jobIds[0] as string);
    await service.sweep({ requeueGraceMs: 0 });
    expect(launchedJobs()).toHaveLength(1);
    expect(await service.pauseKey('no-such-key')).toEqual({ paused: false });
    expect((await run(['pause'])).code).toBe(2);
    // Resumed: the free slot goes at once (round robin: b, whose turn it is).
    expect(await service.resumeKey('ledger-db')).toEqual({ resumed: true, launched: 1 });
    expect(launchedJobs().slice(1)).toHaveLength(1);
    expect([a.jobIds[1], b.jobIds[0]]).toContain(launchedJobs()[1]);
    await service.close();
  });

  it('refuses a key that is not a short name, or a limit that is not a positive integer', async () => {
    const { service } = services();
    for (const concurrency of [
      { key: '', limit: 1 },
      { key: 'a/b', limit: 1 },
      { key: 'db', limit: 0 },
    ]) {
      const error = await rejection(service.kickOffJob('process_batch', [{ i: 0 }], { concurrency }));
      expect(error).toMatchObject({ code: 'E11_INVALID_OPTIONS' });
    }
    await service.close();
  });
});
