import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { createFirestore, type JobCompletedEvent, loadJob } from '@e11/core';
import { createPubSub } from '@e11/core/engine';
import {
  type RegisteredTrigger,
  registerJobTrigger,
  setBridgeRoute,
  type Stack,
  startStack,
} from '@e11/emulators';
import type { OrchestrationService } from '@e11/sdk';
import { CloudRunTaskService, subscribeToJobCompleted, type SweepOptions, type SweepReport } from '@e11/sdk';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { stackService, storeFor, suiteEmulators, testProjectId } from './helpers/project.js';
import { waitForJob } from './helpers/runner.js';
import { TcpProxy } from './helpers/tcp-proxy.js';
import { waitForSnapshot } from './helpers/wait-for.js';

/**
 * Failure handling on the whole local stack (Cloud Run emulator with fault injection, real runner
 * processes, the trigger → function → Pub/Sub path, the sweeper). Every test checks that nothing is
 * lost: each job ends terminal, each orchestration end gets exactly one event, results are complete.
 */
const ENTRYPOINT = fileURLToPath(new URL('./fixtures/dist/runner-entrypoint.js', import.meta.url));
const projectId = testProjectId('faults');
const TOPIC = 'faults-completed';
const FAULTY_TOPIC = 'faults-publish-fails-once';
/**
 * The publish-failure test's own collection prefix: no sweeper sweeps it, so the trigger (parked by the
 * bridge after its failed attempt, released by the test) is its only publisher.
 */
const PUBLISH_PREFIX = 'pubfault_';
const firestore = createFirestore({ projectId, emulatorHost: inject('firestoreHost') });
const pubsub = createPubSub({ projectId, emulatorHost: inject('pubsubHost') });
/** The file's project, clients and topic, for {@link stackService}. */
const base = { projectId, firestore, pubsub, defaultTopic: TOPIC };
const [firestoreHostName, firestorePort] = inject('firestoreHost').split(':');
const proxy = new TcpProxy({ host: firestoreHostName ?? '127.0.0.1', port: Number(firestorePort) });
const events: JobCompletedEvent[] = [];
const listeners = new Set<() => void>();
const figures = { faults: 0, jobs: 0, ends: 0 };
let stack: Stack;
let orchestrations: OrchestrationService;
/** The same service, launching `sleepy` on Cloud Run jobs set up for one fault each. */
let noRetry: OrchestrationService;
let viaProxy: OrchestrationService;
/** The same service on {@link PUBLISH_PREFIX}, and that prefix's trigger. */
let publishFault: OrchestrationService;
let publishTrigger: RegisteredTrigger;
let subscriptions: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  await proxy.start();
  const task = { command: 'node', args: [ENTRYPOINT] };
  stack = await startStack({
    projectId,
    attach: suiteEmulators(),
    cloudRun: {
      jobs: {
        sleepy: { ...task, maxRetries: 1 },
        'sleepy-no-retry': { ...task, maxRetries: 0 },
        'sleepy-via-proxy': { ...task, maxRetries: 0, env: { FIRESTORE_EMULATOR_HOST: proxy.hostPort } },
        'fails-until-file': { ...task, maxRetries: 0 },
        'marks-file-publish': { ...task, maxRetries: 0, env: { E11_COLLECTION_PREFIX: PUBLISH_PREFIX } },
      },
    },
    cloudRunOptions: { maxConcurrentTasks: 8, killGraceMs: 1_000 },
    topics: [TOPIC, FAULTY_TOPIC],
    sweepIntervalMs: 500,
    // The trigger gets 5 s to end an orchestration before the sweeper treats the trigger as lost.
    sweepOptions: { requeueGraceMs: 1_000, completionGraceMs: 5_000 },
  });
  orchestrations = stackService(stack, base, {
    launch: { ratePerMinute: 100_000, initialBackoff: 20, maxBackoff: 200 },
  });
  const routed = (service: string) =>
    stackService(stack, base, { serviceName: { sleepy: service }, launch: { ratePerMinute: 100_000 } });
  noRetry = routed('sleepy-no-retry');
  viaProxy = routed('sleepy-via-proxy');
  publishFault = stackService(stack, base, {
    collectionPrefix: PUBLISH_PREFIX,
    serviceName: { marks_file: 'marks-file-publish' },
    launch: { ratePerMinute: 100_000 },
  });
  publishTrigger = await registerJobTrigger({
    firestoreHost: inject('firestoreHost'),
    bridgeUrl: stack.bridgeUrl,
    projectId,
    collectionPrefix: PUBLISH_PREFIX,
    target: stack.functions.url,
    faults: { holdFailed: true },
  });
  for (const topic of [TOPIC, FAULTY_TOPIC]) {
    subscriptions.push(
      await subscribeToJobCompleted(pubsub, { topic }, (event) => {
        events.push(event);
        for (const listener of listeners) listener();
        return Promise.resolve();
      }),
    );
  }
});

afterAll(async () => {
  console.log(
    `[faults] faults injected: ${figures.faults}, jobs: ${figures.jobs}, orchestration ends: ${figures.ends}, ` +
      `events: ${events.length}, lost: ${figures.ends - events.length}`,
  );
  await Promise.all(subscriptions.map((s) => s.close()));
  subscriptions = [];
  await publishTrigger.unroute();
  await Promise.all([orchestrations.close(), noRetry.close(), viaProxy.close(), publishFault.close()]);
  await stack.stop();
  await proxy.stop();
  await pubsub.close();
  await firestore.terminate();
});

/** Resolves with the event of `orchestrationId` for `epoch` as soon as it arrives. */
function eventFor(orchestrationId: string, epoch = 1): Promise<JobCompletedEvent> {
  return new Promise((resolve) => {
    const check = () => {
      const event = events.find((e) => e.orchestrationId === orchestrationId && e.epoch === epoch);
      if (!event) return;
      listeners.delete(check);
      resolve(event);
    };
    listeners.add(check);
    check();
  });
}

/**
 * `promise`, or a failure after `ms` naming the step and, from `state()`, where things stood: a step
 * that hangs fails with what it waited for instead of the test's bare timeout.
 */
/** The first line of `stream` that starts with `ids `. */
async function idsLine(stream: NodeJS.ReadableStream): Promise<string> {
  let buffered = '';
  for await (const chunk of stream) {
    buffered += String(chunk);
    const found = buffered
      .split('\n')
      .find((candidate, index, all) => index < all.length - 1 && candidate.startsWith('ids '));
    if (found !== undefined) return found;
  }
  throw new Error(`the stream ended without an ids line: ${buffered}`);
}

async function within<T>(promise: Promise<T>, ms: number, what: string, state?: () => Promise<unknown>) {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const described = state ? state().catch((error: unknown) => String(error)) : Promise.resolve(undefined);
      void described.then((where) =>
        reject(
          new Error(`${what}: not within ${ms} ms${where === undefined ? '' : `; ${JSON.stringify(where)}`}`),
        ),
      );
    }, ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** SIGKILLs the task running `jobId` once the job is InProgress (claimed, heartbeat fresh). */
async function killTaskOf(orchestrationId: string, jobId: string): Promise<void> {
  await waitForJob(storeFor(firestore), orchestrationId, jobId, (job) => job.status === 'InProgress');
  const execution = stack.cloudRun
    .listExecutions()
    .find((e) => e.env.JOB_ID === jobId && e.state === 'running');
  expect(await stack.cloudRun.faults.killTask(execution?.name ?? '', 0, 'SIGKILL')).toBe(true);
  figures.faults++;
}

/** After every trigger delivery has settled, exactly `count` events exist for the orchestration. */
async function expectEvents(orchestrationId: string, count: number): Promise<void> {
  await stack.trigger.waitForIdle({ timeoutMs: 60_000 });
  await stack.sweep();
  expect(events.filter((e) => e.orchestrationId === orchestrationId)).toHaveLength(count);
  figures.ends += count;
}

/** One sweep as if `minutes` had passed: the same SDK sweep with a clock set ahead. */
async function sweepAfterMinutes(minutes: number, options?: SweepOptions): Promise<SweepReport> {
  const later = stackService(stack, base, { clock: { now: () => Date.now() + minutes * 60_000 } });
  try {
    return await later.sweep(options);
  } finally {
    await later.close();
  }
}

/** A backend process running `script` (ES module code using @e11/sdk) against `firestoreHost`. */
function spawnBackend(script: string, firestoreHost: string) {
  return spawn(process.execPath, ['--input-type=module', '-e', script], {
    env: {
      ...process.env,
      GOOGLE_CLOUD_PROJECT: projectId,
      FIRESTORE_EMULATOR_HOST: firestoreHost,
      PUBSUB_EMULATOR_HOST: inject('pubsubHost'),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

describe('failures on the local stack', () => {
  it('retries a task SIGKILLed mid-run through Cloud Run, resuming the job to completion', async () => {
    const { orchestrationId, jobIds } = await orchestrations.kickOffJob('sleepy', [{ ms: 1_500 }]);
    figures.jobs++;
    await killTaskOf(orchestrationId, jobIds[0] as string);
    const event = await eventFor(orchestrationId);
    expect(event).toMatchObject({ status: 'Completed', succeeded: 1 });
    const job = await loadJob(storeFor(firestore), orchestrationId, jobIds[0] as string);
    expect(job.attempts.map((a) => a.outcome)).toEqual(['Crashed', 'Completed']);
    expect(job.result).toEqual({ slept: 1_500, attempt: 2 });
    await expectEvents(orchestrationId, 1);
  });

  it('relaunches a crashed task that Cloud Run does not retry once its heartbeat goes stale', async () => {
    const { orchestrationId, jobIds } = await noRetry.kickOffJob('sleepy', [{ ms: 1_200 }], {
      heartbeatTimeout: '1s',
    });
    figures.jobs++;
    await killTaskOf(orchestrationId, jobIds[0] as string);
    const event = await eventFor(orchestrationId);
    const job = await loadJob(storeFor(firestore), orchestrationId, jobIds[0] as string);
    expect(event).toMatchObject({ status: 'Completed', succeeded: 1 });
    expect(job.attempts.map((a) => [a.attempt, a.outcome])).toEqual([
      [1, 'Crashed'],
      [2, 'Completed'],
    ]);
    await expectEvents(orchestrationId, 1);
  });

  it('dead-letters a job whose every attempt crashes, and ends the orchestration Errored', async () => {
    const { orchestrationId, jobIds } = await noRetry.kickOffJob('sleepy', [{ ms: 60_000 }], {
      heartbeatTimeout: '1s',
      retry: { maxAttempts: 1 },
    });
    figures.jobs++;
    await killTaskOf(orchestrationId, jobIds[0] as string);
    const event = await eventFor(orchestrationId);
    expect(event).toMatchObject({ status: 'Errored', failed: 1 });
    const [, failures] = await orchestrations.getJobResults(orchestrationId);
    expect(failures).toEqual([
      expect.objectContaining({
        deadLettered: true,
        error: expect.objectContaining({ code: 'E11_CRASHED' }) as unknown,
      }),
    ]);
    await expectEvents(orchestrationId, 1);
  });

  it('launches every job through a storm of 429 and 503 answers', async () => {
    stack.cloudRun.faults.rejectNextRuns(6, 'RESOURCE_EXHAUSTED');
    figures.faults += 6;
    const { orchestrationId } = await orchestrations.kickOffJob(
      'sleepy',
      Array.from({ length: 8 }, () => ({ ms: 10 })),
      { launchConcurrency: 2 },
    );
    figures.jobs += 8;
    expect(await eventFor(orchestrationId)).toMatchObject({ status: 'Completed', total: 8, succeeded: 8 });
    await expectEvents(orchestrationId, 1);
  });

  it('runs a job once when Cloud Run delivers its task twice', async () => {
    const { orchestrationId, jobIds, launch } = await orchestrations.kickOffJob('sleepy', [{ ms: 800 }]);
    figures.jobs++;
    const [execution] = launch?.executions ?? [];
    const env = stack.cloudRun.listExecutions().find((e) => e.name === execution)?.env ?? {};
    // A second execution of the same job: what an ambiguous, retried RunJob call can cause.
    const launcher = new CloudRunTaskService({ projectId, endpoint: stack.cloudRun.endpoint });
    await launcher.launch({
      service: 'sleepy',
      env: { JOB_NAME: 'sleepy', ORCHESTRATION_ID: orchestrationId, JOB_ID: env.JOB_ID ?? '' },
      taskCount: 1,
    });
    await launcher.close();
    figures.faults++;
    expect(await eventFor(orchestrationId)).toMatchObject({ status: 'Completed', succeeded: 1 });
    const job = await loadJob(storeFor(firestore), orchestrationId, jobIds[0] as string);
    expect(job.attempt).toBe(1);
    await expectEvents(orchestrationId, 1);
  });

  it('still publishes the event exactly once when the first publish fails after the marker', async () => {
    // The job holds until the test writes `release`; meanwhile its topic disappears, so the publish
    // after the completion marker fails (NOT_FOUND) — a fault of Pub/Sub itself, not of our code.
    const dir = mkdtempSync(join(tmpdir(), 'e11-publish-'));
    const release = join(dir, 'release');
    const { orchestrationId, jobIds } = await publishFault.kickOffJob(
      'marks_file',
      [{ file: join(dir, 'marks'), release }],
      { topic: FAULTY_TOPIC },
    );
    figures.jobs++;
    await waitForJob(
      storeFor(firestore, { collectionPrefix: PUBLISH_PREFIX }),
      orchestrationId,
      jobIds[0] as string,
      (j) => j.status === 'InProgress',
    );
    await pubsub.topic(FAULTY_TOPIC).delete();
    figures.faults++;
    writeFileSync(release, 'go');
    const markerRef = storeFor(firestore, { collectionPrefix: PUBLISH_PREFIX }).collections.completion(
      orchestrationId,
      1,
    );
    const failed = await waitForSnapshot(
      markerRef,
      (snapshot) => (Number(snapshot.get('publishAttempts') ?? 0) < 1 ? undefined : (snapshot.data() ?? {})),
      // A publish to a deleted topic may only give up at its own 30 s timeout before it is recorded.
      { what: 'the first publish attempt', timeoutMs: 75_000 },
    );
    expect(failed).toMatchObject({
      published: false,
      lastPublishError: expect.stringMatching(/NOT_FOUND|not found/i) as unknown,
    });
    // The failed delivery is parked by the bridge, so nothing publishes until the test releases it.
    expect(await publishTrigger.waitForIdle({ timeoutMs: 30_000 })).toMatchObject({ held: 1 });

    // The topic comes back, watched by a new subscription; the bridge retries the delivery.
    await pubsub.createTopic(FAULTY_TOPIC);
    subscriptions.push(
      await subscribeToJobCompleted(pubsub, { topic: FAULTY_TOPIC }, (event) => {
        events.push(event);
        for (const listener of listeners) listener();
        return Promise.resolve();
      }),
    );
    expect(await publishTrigger.release()).toBe(1);
    expect(await eventFor(orchestrationId)).toMatchObject({ status: 'Completed', total: 1 });
    // The marker records the publish just after it happened: wait for that write, then read it.
    const marker = await waitForSnapshot(
      markerRef,
      (snapshot) => (snapshot.get('published') !== true ? undefined : (snapshot.data() ?? {})),
      { what: 'the marker recording the publish', timeoutMs: 30_000 },
    );
    expect(marker).toMatchObject({ published: true, publishAttempts: 2 });
    expect(await publishTrigger.waitForIdle({ timeoutMs: 30_000 })).toMatchObject({ held: 0, failed: 0 });
    expect(events.filter((e) => e.orchestrationId === orchestrationId)).toHaveLength(1);
    figures.ends++;
  }, 150_000);

  it('ends an orchestration whose every trigger delivery was lost, through the sweeper, with one event', async () => {
    const route = { projectId, triggerId: stack.trigger.triggerId, target: stack.functions.url };
    // Like an Eventarc trigger that failed for good: every change of this orchestration is dropped.
    await setBridgeRoute(stack.bridgeUrl, { ...route, faults: { dropFirst: 1_000_000 } });
    try {
      const { orchestrationId } = await orchestrations.kickOffJob('sleepy', [{ ms: 10 }, { ms: 20 }]);
      figures.faults++;
      figures.jobs += 2;
      expect(await eventFor(orchestrationId)).toMatchObject({ status: 'Completed', total: 2, succeeded: 2 });
      const stats = await stack.trigger.stats();
      expect(stats.dropped).toBeGreaterThan(0);
      expect(stats.delivered).toBe(0);
      // Nothing reached the function: the end was the sweeper's.
      expect(stack.functions.output()).not.toContain(orchestrationId);
      await expectEvents(orchestrationId, 1);
    } finally {
      await setBridgeRoute(stack.bridgeUrl, route);
    }
  });

  it('launches the jobs of a backend that died mid-launch once its launcher has been silent too long', async () => {
    // A backend process kicks off three orchestrations, with Cloud Run unreachable, and is SIGKILLed
    // while it retries the launches.
    const backend = spawnBackend(
      `import { OrchestrationService } from '@e11/sdk';
         const service = new OrchestrationService({ cloudRunEndpoint: '127.0.0.1:1', defaultTopic: '${TOPIC}' });
         const ids = [];
         for (let i = 0; i < 3; i++) {
           const { orchestrationId } = await service.kickOffJob('sleepy', [{ ms: 10 }, { ms: 20 }], { background: true });
           ids.push(orchestrationId);
         }
         process.stdout.write('ids ' + ids.join(' ') + '\\n');
         setInterval(() => undefined, 60_000);`,
      inject('firestoreHost'),
    );
    // Its stdout also carries its log lines (e.g. the warning that Cloud Run's job limits are unreadable).
    const line = await within(idsLine(backend.stdout), 30_000, 'the backend kicking off');
    backend.kill('SIGKILL');
    await once(backend, 'exit');
    const ids = line.slice('ids '.length).trim().split(' ');
    expect(ids).toHaveLength(3);
    figures.faults++;
    figures.jobs += 6;
    for (const id of ids) {
      const stranded = await orchestrations.listJobs(id);
      expect(stranded.map((job) => [job.status, job.attempt])).toEqual([
        ['Pending', 0],
        ['Pending', 0],
      ]);
    }

    // Now the launcher may still be working: nothing is launched twice.
    const now = await orchestrations.sweep();
    expect(now.relaunched).toBe(0);
    // Sixteen minutes later (pendingTimeoutMs is 15) it has said nothing since: the sweep launches the
    // jobs of all three, reading the active orchestrations one per page.
    const report = await within(sweepAfterMinutes(16, { pageSize: 1 }), 20_000, 'the sweep 16 minutes later');
    expect(report.relaunched).toBe(6);
    for (const id of ids) {
      const event = await within(eventFor(id), 30_000, `the event of ${id}`, async () => ({
        jobs: (await orchestrations.listJobs(id)).map((job) => [job.status, job.attempt, job.executionName]),
        trigger: await stack.trigger.stats(),
      }));
      expect(event).toMatchObject({ status: 'Completed', total: 2, succeeded: 2 });
      await expectEvents(id, 1);
    }
  });

  it('removes a registration whose backend died midway, so the same idempotency key starts afresh', async () => {
    // The backend's Firestore goes through a proxy the test cuts once the orchestration document exists.
    const cut = new TcpProxy({ host: firestoreHostName ?? '127.0.0.1', port: Number(firestorePort) });
    await cut.start();
    const key = `nightly-${Date.now()}`;
    const backend = spawnBackend(
      `import { OrchestrationService } from '@e11/sdk';
         const service = new OrchestrationService({ cloudRunEndpoint: '127.0.0.1:1', defaultTopic: '${TOPIC}' });
         const params = Array.from({ length: 10000 }, (_, index) => ({ ms: index }));
         await service.kickOffJob('sleepy', params, { idempotencyKey: '${key}', background: true });`,
      cut.hostPort,
    );
    const orchestrationsRef = storeFor(firestore).collections.orchestrations();
    const orchestrationId = await waitForSnapshot(
      orchestrationsRef.where('idempotencyKey', '==', key),
      (snapshot) => snapshot.docs[0]?.id,
      { what: 'the backend registering its orchestration', timeoutMs: 60_000 },
    );
    await cut.pause();
    backend.kill('SIGKILL');
    await once(backend, 'exit');
    figures.faults++;
    const orphan = await orchestrationsRef.doc(orchestrationId).get();
    expect(orphan.get('registered')).toBe(false);
    // Now the registration may still be running: it is left alone.
    expect((await orchestrations.sweep()).abandoned).toBe(0);
    expect((await orchestrationsRef.doc(orchestrationId).get()).exists).toBe(true);
    // Sixteen minutes later it is abandoned: removed with every params chunk written so far.
    expect((await sweepAfterMinutes(16)).abandoned).toBe(1);
    expect((await orchestrationsRef.doc(orchestrationId).get()).exists).toBe(false);
    expect((await storeFor(firestore).collections.paramsChunks(orchestrationId).limit(1).get()).empty).toBe(
      true,
    );

    const retried = await orchestrations.kickOffJob('sleepy', [{ ms: 10 }], { idempotencyKey: key });
    figures.jobs++;
    expect(retried).toMatchObject({ orchestrationId, deduplicated: false });
    expect(await eventFor(orchestrationId)).toMatchObject({ status: 'Completed', total: 1, succeeded: 1 });
    await expectEvents(orchestrationId, 1);
    await cut.stop();
  });

  it('finishes a job whose runner loses Firestore for a while', async () => {
    const { orchestrationId, jobIds } = await viaProxy.kickOffJob('sleepy', [{ ms: 600 }]);
    figures.jobs++;
    await waitForJob(
      storeFor(firestore),
      orchestrationId,
      jobIds[0] as string,
      (job) => job.status === 'InProgress',
    );
    await proxy.pause();
    figures.faults++;
    // The outage outlasts the job's work: its completion write meets UNAVAILABLE and is retried.
    const outage = new Promise<void>((resolve) => setTimeout(resolve, 2_000));
    await outage;
    await proxy.resume();
    const resumedAt = Date.now();
    expect(await eventFor(orchestrationId)).toMatchObject({ status: 'Completed', succeeded: 1 });
    const job = await loadJob(storeFor(firestore), orchestrationId, jobIds[0] as string);
    expect(job).toMatchObject({ status: 'Completed', attempt: 1, result: { slept: 600, attempt: 1 } });
    // The work ended during the outage; the completion write got through only after it.
    expect(job.finishedAt?.toMillis()).toBeGreaterThanOrEqual(resumedAt - 100);
    await expectEvents(orchestrationId, 1);
  });

  it('starts one orchestration for 20 concurrent kick-offs with the same idempotency key', async () => {
    const before = stack.cloudRun.stats().calls.RunJob ?? 0;
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        orchestrations.kickOffJob('sleepy', [{ ms: 10 }, { ms: 10 }, { ms: 10 }], {
          idempotencyKey: `nightly-${projectId}`,
        }),
      ),
    );
    figures.faults += 19;
    figures.jobs += 3;
    const ids = new Set(results.map((r) => r.orchestrationId));
    expect(ids.size).toBe(1);
    expect((stack.cloudRun.stats().calls.RunJob ?? 0) - before).toBe(3);
    const [orchestrationId] = [...ids] as [string];
    expect(await eventFor(orchestrationId)).toMatchObject({ status: 'Completed', total: 3 });
    await expectEvents(orchestrationId, 1);
  });

  it('cancels what is unfinished when the orchestration deadline passes, with one Cancelled event', async () => {
    // The short job usually finishes before the deadline; on a loaded machine it may not — either way
    // every job ends, the long one is cancelled for the timeout, and one Cancelled event is sent.
    const { orchestrationId, jobIds } = await orchestrations.kickOffJob(
      'sleepy',
      [{ ms: 60_000 }, { ms: 10 }],
      {
        orchestrationTimeout: '1500ms',
      },
    );
    figures.jobs += 2;
    const event = await eventFor(orchestrationId);
    expect(event).toMatchObject({ status: 'Cancelled', reason: 'timeout', total: 2 });
    expect(event.succeeded + event.cancelled).toBe(2);
    const [successes, failures] = await orchestrations.getJobResults(orchestrationId);
    expect(successes.length + (failures?.length ?? 0)).toBe(2);
    expect(failures?.find((f) => f.jobId === jobIds[0])).toMatchObject({
      status: 'Cancelled',
      error: { code: 'E11_TIMEOUT' },
    });
    await expectEvents(orchestrationId, 1);
  });

  it('retries failed jobs with their original params in a new epoch with a new event, and discards', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'e11-retry-'));
    const file = join(dir, 'ready');
    const { orchestrationId } = await orchestrations.kickOffJob('fails_until_file', [
      { file },
      { file: join(dir, 'never') },
    ]);
    figures.jobs += 2;
    expect(await eventFor(orchestrationId, 1)).toMatchObject({ status: 'Errored', failed: 2, epoch: 1 });
    writeFileSync(file, 'ok');
    const [, failures] = await orchestrations.getJobResults(orchestrationId);
    const retry = await orchestrations.retryFailed(orchestrationId, { jobIds: [failures?.[0]?.jobId ?? ''] });
    expect(retry).toMatchObject({ epoch: 2, jobIds: [failures?.[0]?.jobId] });
    const second = await eventFor(orchestrationId, 2);
    expect(second).toMatchObject({ status: 'Errored', succeeded: 1, failed: 1, epoch: 2 });
    const [successes, stillFailing] = await orchestrations.getJobResults<string, { file: string }>(
      orchestrationId,
    );
    expect(successes.map((s) => s.params.file)).toEqual([file]);
    expect(stillFailing?.map((f) => f.params.file)).toEqual([join(dir, 'never')]);
    expect(existsSync(join(dir, 'never'))).toBe(false);
    expect(
      await orchestrations.discard(orchestrationId, { jobIds: [stillFailing?.[0]?.jobId ?? ''] }),
    ).toEqual({ discarded: 1 });
    expect((await orchestrations.retryFailed(orchestrationId)).jobIds).toEqual([]);
    await expectEvents(orchestrationId, 2);
  });
});
