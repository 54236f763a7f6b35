import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { createFirestore, E11Error } from '@e11/core';
import { createPubSub } from '@e11/core/engine';
import { cloudRunClientOptions, type Stack, startStack } from '@e11/emulators';
import { CloudRunTaskService, type OrchestrationService, type TaskLauncher } from '@e11/sdk';
import { ExecutionsClient } from '@google-cloud/run';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { captureIo } from './helpers/capture.js';
import { CompletedEvents } from './helpers/completed-events.js';
import { stackService, storeFor, suiteEmulators, testProjectId } from './helpers/project.js';

// The CLI's entry point, run in-process with captured output.
const { runCli } = await import('@e11/cli');

/**
 * Cost end to end on the local stack: real runner processes in the Cloud Run emulator, task time
 * counted by the runner's own end writes, the completion function's event, the CLI.
 */
const ENTRYPOINT = fileURLToPath(new URL('./fixtures/dist/runner-entrypoint.js', import.meta.url));
const projectId = testProjectId('cost');
const TOPIC = 'cost-job-completed';
const REGION = 'us-central1';
/** Prices of the test's own (not Cloud Run's): the arithmetic is checked with them. */
const PRICING = { cpuPerVcpuSecond: 0.001, memoryPerGibSecond: 0.0002, currency: 'EUR' };
let stack: Stack;
let orchestrations: OrchestrationService;
let executions: ExecutionsClient;
let dir: string;
const firestore = createFirestore({ projectId, emulatorHost: inject('firestoreHost') });
const pubsub = createPubSub({ projectId, emulatorHost: inject('pubsubHost') });
const store = storeFor(firestore);
const events = new CompletedEvents();

function service(): OrchestrationService {
  return stackService(
    stack,
    { projectId, firestore, pubsub, defaultTopic: TOPIC },
    { region: REGION, pricing: PRICING, launch: { ratePerMinute: 100_000, concurrency: 20 } },
  );
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'e11-cost-'));
  stack = await startStack({
    projectId,
    attach: suiteEmulators(),
    cloudRun: {
      jobs: {
        // The Cloud Run job's own limits: what a kick-off records (no resources option).
        'timed-work': { command: 'node', args: [ENTRYPOINT], maxRetries: 0, cpu: '2', memory: '1Gi' },
        sleepy: { command: 'node', args: [ENTRYPOINT], maxRetries: 0 },
      },
    },
    cloudRunOptions: { maxConcurrentTasks: 4 },
    topics: [TOPIC],
    sweepIntervalMs: 0,
  });
  orchestrations = service();
  executions = new ExecutionsClient(cloudRunClientOptions(stack.cloudRun));
  await events.subscribe(pubsub, TOPIC);
});

afterAll(async () => {
  await events.close();
  await executions.close();
  await orchestrations.close();
  await stack.stop();
  await pubsub.close();
  await firestore.terminate();
  await rm(dir, { recursive: true, force: true });
});

/** Milliseconds of every attempt on the orchestration's job documents, start to end. */
async function attemptMillis(orchestrationId: string): Promise<{ total: number; perJob: number[][] }> {
  const jobs = await store.collections.jobs(orchestrationId).get();
  const perJob = jobs.docs.map((doc) =>
    (doc.get('attempts') as { startedAt: { toMillis(): number }; finishedAt: { toMillis(): number } }[]).map(
      (attempt) => attempt.finishedAt.toMillis() - attempt.startedAt.toMillis(),
    ),
  );
  return { total: perJob.flat().reduce((sum, ms) => sum + ms, 0), perJob };
}

async function executionCount(service: string): Promise<number> {
  const [list] = await executions.listExecutions({
    parent: `projects/${projectId}/locations/${REGION}/jobs/${service}`,
  });
  return list.length;
}

let first: { orchestrationId: string; taskSeconds: number };

describe('the cost of an orchestration', () => {
  it('counts every attempt start to end, retries included, and prices it at the Cloud Run job limits', async () => {
    const params = [{ ms: 300 }, { ms: 600 }, { ms: 200, failFirst: true }];
    const { orchestrationId } = await orchestrations.kickOffJob('timed_work', params);
    const event = await events.eventFor(orchestrationId);
    const info = await orchestrations.getOrchestration(orchestrationId);
    const { total, perJob } = await attemptMillis(orchestrationId);

    // The retried job has two attempts; each attempt lasted at least its work.
    expect(perJob.map((attempts) => attempts.length).sort()).toEqual([1, 1, 2]);
    expect(perJob.flat().every((ms) => ms >= 200)).toBe(true);
    const taskSeconds = total / 1000;
    expect(info.cost?.taskSeconds).toBe(taskSeconds);
    expect(event.taskSeconds).toBe(taskSeconds);

    const rate = 2 * PRICING.cpuPerVcpuSecond + 1 * PRICING.memoryPerGibSecond;
    expect(info.cost).toMatchObject({ cpu: 2, memoryGiB: 1, currency: 'EUR' });
    expect(info.cost?.amount).toBeCloseTo(taskSeconds * rate, 12);
    expect(event.cost?.currency).toBe('EUR');
    expect(event.cost?.amount).toBeCloseTo(taskSeconds * rate, 12);
    const stored = await store.collections.orchestration(orchestrationId).get();
    expect(stored.get('resources')).toEqual({ cpu: 2, memoryGiB: 1, source: 'cloud-run' });

    // The history shows the same cost as getOrchestration.
    const page = await orchestrations.listOrchestrations({ jobName: 'timed_work' });
    expect(page.items.find((item) => item.id === orchestrationId)?.cost).toEqual(info.cost);
    first = { orchestrationId, taskSeconds };
  });

  it('shows task time and cost in e11 status', async () => {
    const io = captureIo();
    const code = await runCli(['status', first.orchestrationId], io, () => service());
    expect(code).toBe(0);
    expect(io.stdout.text).toMatch(
      new RegExp(
        `task time\\s+${first.taskSeconds.toFixed(1)} s \\(2 vCPU, 1 GiB per task\\)\\s+cost \\d+\\.\\d{6} EUR`,
      ),
    );
  });
});

describe('dry-run kick-offs', () => {
  it('estimate from the previous orchestration and write or launch nothing', async () => {
    const before = await store.collections.orchestrations().get();
    const executionsBefore = await executionCount('timed-work');
    const estimate = await orchestrations.kickOffJob(
      'timed_work',
      [{ ms: 100 }, { ms: 100 }, { ms: 100 }, { ms: 100 }],
      { dryRun: true },
    );
    const perJob = first.taskSeconds / 3;
    expect(estimate).toMatchObject({
      dryRun: true,
      jobName: 'timed_work',
      service: 'timed-work',
      jobs: 4,
      resources: { cpu: 2, memoryGiB: 1, source: 'cloud-run' },
      currency: 'EUR',
      basis: { orchestrations: 1, jobs: 3 },
      reason: null,
    });
    expect(estimate.taskSecondsPerJob).toBeCloseTo(perJob, 9);
    expect(estimate.taskSeconds).toBeCloseTo(4 * perJob, 9);
    const rate = 2 * PRICING.cpuPerVcpuSecond + 1 * PRICING.memoryPerGibSecond;
    expect(estimate.amount).toBeCloseTo(4 * perJob * rate, 12);

    const after = await store.collections.orchestrations().get();
    expect(after.docs.map((doc) => doc.id).sort()).toEqual(before.docs.map((doc) => doc.id).sort());
    expect(await executionCount('timed-work')).toBe(executionsBefore);
  });

  it('say when there is no history, and refuse bad input as a kick-off does', async () => {
    const estimate = await orchestrations.kickOffJob('sleepy', [{ ms: 10 }], { dryRun: true });
    expect(estimate).toMatchObject({
      amount: null,
      taskSeconds: null,
      basis: { orchestrations: 0, jobs: 0 },
      resources: { cpu: 1, memoryGiB: 0.5, source: 'default' },
    });
    expect(estimate.reason).toMatch(/No ended orchestration of sleepy/);
    const refused = orchestrations.kickOffJob('Not A Name!', [{ ms: 10 }], { dryRun: true });
    await expect(refused).rejects.toBeInstanceOf(E11Error);
    await expect(refused).rejects.toMatchObject({ code: 'E11_INVALID_JOB_NAME' });
    const badMode = orchestrations.kickOffJob('sleepy', [{ ms: 10 }], {
      dryRun: true,
      mode: 'nope' as 'array',
    });
    await expect(badMode).rejects.toMatchObject({ code: 'E11_INVALID_OPTIONS' });
    expect(await executionCount('sleepy')).toBe(0);
  });

  it('take resources from the resources option first, and read each Cloud Run job once', async () => {
    const cloudRun = new CloudRunTaskService({
      region: REGION,
      endpoint: stack.cloudRun.endpoint,
      projectId,
    });
    const reads: string[] = [];
    // The real launcher, counting its getJob reads.
    const launcher: TaskLauncher = {
      region: REGION,
      launch: (request) => cloudRun.launch(request),
      cancel: (name) => cloudRun.cancel(name),
      close: () => cloudRun.close(),
      jobLimits: (name) => {
        reads.push(name);
        return cloudRun.jobLimits(name);
      },
    };
    const counted = stackService(
      stack,
      { projectId, firestore, pubsub, defaultTopic: TOPIC },
      { launcher, pricing: PRICING, resources: { sleepy: { cpu: '500m', memory: '256Mi' } } },
    );
    try {
      const option = await counted.kickOffJob('sleepy', [{ ms: 1 }], { dryRun: true });
      expect(option.resources).toEqual({ cpu: 0.5, memoryGiB: 0.25, source: 'option' });
      for (let i = 0; i < 3; i++) {
        const read = await counted.kickOffJob('timed_work', [{ ms: 1 }], { dryRun: true });
        expect(read.resources).toEqual({ cpu: 2, memoryGiB: 1, source: 'cloud-run' });
      }
      // A Cloud Run job that cannot be read (it does not exist): Cloud Run's defaults, no failure.
      const missing = await counted.kickOffJob('not_deployed', [{ ms: 1 }], { dryRun: true });
      expect(missing.resources).toEqual({ cpu: 1, memoryGiB: 0.5, source: 'default' });
      expect(reads).toEqual(['timed-work', 'not-deployed']);
    } finally {
      await counted.close();
    }
  });

  it('e11 estimate prints the estimate and its basis', async () => {
    const file = join(dir, 'params.jsonl');
    await writeFile(file, '{"ms":100}\n{"ms":100}\n');
    const io = captureIo();
    const code = await runCli(['estimate', 'timed_work', '--params', file], io, () => service());
    expect(code).toBe(0);
    expect(io.stdout.text).toContain('jobs          2');
    expect(io.stdout.text).toContain('resources     2 vCPU, 1 GiB per task (cloud-run)');
    expect(io.stdout.text).toMatch(/estimate\s+\d+\.\d{6} EUR/);
    expect(io.stdout.text).toContain('basis         3 jobs of the last 1 ended orchestrations');
    const json = captureIo();
    await runCli(['--json', 'estimate', 'sleepy', '--params', file], json, () => service());
    expect(JSON.parse(json.stdout.text)).toMatchObject({ jobs: 2, amount: null, dryRun: true });
  });
});
