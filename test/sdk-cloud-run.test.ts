import { JobStatus, readCounts } from '@e11/core';
import { type CloudRunEmulator, startCloudRunEmulator } from '@e11/emulators';
import { CloudRunTaskService, OrchestrationService } from '@e11/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { spawnBackend } from './helpers/backend-process.js';
import { ensureTopic } from './helpers/monitoring.js';
import { emulatorClients, storeFor, testProjectId } from './helpers/project.js';

const projectId = testProjectId('sdk-cloud-run');
const { firestore, pubsub } = emulatorClients(projectId);
let emulator: CloudRunEmulator;
let orchestrations: OrchestrationService;

/** A task that prints the env the SDK gave it, so the test can read it from the task's output. */
const PRINT_ENV = `process.stdout.write(JSON.stringify({ JOB_NAME: process.env.JOB_NAME, ORCHESTRATION_ID: process.env.ORCHESTRATION_ID, JOB_ID: process.env.JOB_ID ?? null, CLOUD_RUN_TASK_INDEX: process.env.CLOUD_RUN_TASK_INDEX, CLOUD_RUN_TASK_COUNT: process.env.CLOUD_RUN_TASK_COUNT }))`;

beforeAll(async () => {
  emulator = await startCloudRunEmulator({
    config: {
      jobs: {
        'print-env': { command: 'node', args: ['-e', PRINT_ENV], maxRetries: 0 },
        'wait-for-term': { command: 'node', args: ['-e', 'setInterval(() => {}, 1000)'], maxRetries: 0 },
      },
    },
    killGraceMs: 500,
  });
  orchestrations = new OrchestrationService({
    firestore,
    pubsub,
    launcher: new CloudRunTaskService({ projectId, region: 'europe-west1', endpoint: emulator.endpoint }),
    launch: { ratePerMinute: 10_000, initialBackoff: 5, maxBackoff: 20 },
  });
  await ensureTopic(pubsub); // kickOffJob checks that its event's topic exists
});

afterAll(async () => {
  await orchestrations.close();
  await emulator.stop();
  await pubsub.close();
  await firestore.terminate();
});

function outputOf(executionName: string, taskIndex = 0) {
  return JSON.parse(emulator.taskOutput(executionName, taskIndex)) as Record<string, string | null>;
}

describe('launching through the real @google-cloud/run client and the Cloud Run emulator', () => {
  it('starts one execution per job with JOB_NAME, ORCHESTRATION_ID and JOB_ID in its env', async () => {
    const result = await orchestrations.kickOffJob('print_env', [{ n: 1 }, { n: 2 }, { n: 3 }]);
    expect(result.launch?.executions).toHaveLength(3);
    const seen = await Promise.all(
      (result.launch?.executions ?? []).map(async (name) => {
        expect(name).toMatch(
          new RegExp(`^projects/${projectId}/locations/europe-west1/jobs/print-env/executions/`),
        );
        await emulator.waitForExecution(name, { timeoutMs: 20_000 });
        return outputOf(name);
      }),
    );
    expect(seen.map((env) => env.JOB_ID).sort()).toEqual([...result.jobIds].sort());
    for (const env of seen)
      expect(env).toMatchObject({ JOB_NAME: 'print_env', ORCHESTRATION_ID: result.orchestrationId });
    const job = await orchestrations.getJob(result.orchestrationId, result.jobIds[0] as string);
    expect(job.executionName).toMatch(/\/executions\//);
  });

  it('rides out a storm of 503 and 429 answers with backoff', async () => {
    const before = emulator.stats().calls.RunJob ?? 0;
    emulator.faults.rejectNextRuns(3, 'UNAVAILABLE');
    const first = await orchestrations.kickOffJob('print_env', [{ n: 1 }, { n: 2 }], {
      launchConcurrency: 1,
    });
    emulator.faults.rejectNextRuns(2, 'RESOURCE_EXHAUSTED');
    const second = await orchestrations.kickOffJob('print_env', [{ n: 3 }], { launchConcurrency: 1 });
    expect(first.launch).toMatchObject({ launched: 2, failed: 0, requests: 5 });
    expect(second.launch).toMatchObject({ launched: 1, failed: 0, requests: 3 });
    expect((emulator.stats().calls.RunJob ?? 0) - before).toBe(8);
    const counts = await readCounts(storeFor(firestore), first.orchestrationId);
    expect(counts).toMatchObject({ errored: 0, pending: 2 });
    console.log(`[faults] 503/429 storm: 5 rejections injected, 3 jobs launched, 0 lost`);
  });

  it('ends every job Errored with E11_LAUNCH_FAILED when the Cloud Run job does not exist', async () => {
    const before = emulator.stats().calls.RunJob ?? 0;
    const result = await orchestrations.kickOffJob('no_such_job', [{ a: 1 }, { a: 2 }, { a: 3 }], {
      launchConcurrency: 1,
    });
    expect(result.launch).toMatchObject({ launched: 0, failed: 3 });
    expect((emulator.stats().calls.RunJob ?? 0) - before).toBe(1);
    const jobs = await orchestrations.listJobs(result.orchestrationId);
    for (const job of jobs) {
      expect(job.status).toBe(JobStatus.Errored);
      expect(job.error?.code).toBe('E11_LAUNCH_FAILED');
      expect(job.error?.message).toMatch(/does not exist/);
    }
  });

  it('starts all jobs with one API call in array mode, each task finding its job by index', async () => {
    const before = emulator.stats().calls.RunJob ?? 0;
    const result = await orchestrations.kickOffJob(
      'print_env',
      Array.from({ length: 5 }, (_, i) => ({ i })),
      { mode: 'array' },
    );
    expect((emulator.stats().calls.RunJob ?? 0) - before).toBe(1);
    const [execution] = result.launch?.executions ?? [];
    await emulator.waitForExecution(execution as string, { timeoutMs: 20_000 });
    const env = outputOf(execution as string, 4);
    expect(env).toMatchObject({
      JOB_NAME: 'print_env',
      ORCHESTRATION_ID: result.orchestrationId,
      JOB_ID: null,
      CLOUD_RUN_TASK_INDEX: '4',
      CLOUD_RUN_TASK_COUNT: '5',
    });
    expect((await orchestrations.getOrchestration(result.orchestrationId)).mode).toBe('array');
  });

  it('cancels running executions, ends unfinished jobs Cancelled and publishes one Cancelled event', async () => {
    const [topic] = await pubsub.createTopic('cancel-events');
    const [subscription] = await topic.createSubscription('cancel-events-sub');
    const events: Record<string, unknown>[] = [];
    const firstEvent = new Promise<void>((resolve) => {
      subscription.on('message', (message: { data: Buffer; ack(): void }) => {
        message.ack();
        events.push(JSON.parse(message.data.toString('utf8')) as Record<string, unknown>);
        resolve();
      });
    });
    const result = await orchestrations.kickOffJob('wait_for_term', [{ a: 1 }, { a: 2 }], {
      topic: 'cancel-events',
    });
    const names = result.launch?.executions ?? [];
    const { cancelled } = await orchestrations.cancel(result.orchestrationId);
    expect(cancelled).toBe(2);
    const ended = await Promise.all(
      names.map((name) => emulator.waitForExecution(name, { timeoutMs: 20_000 })),
    );
    expect(ended.map((execution) => execution.state)).toEqual(['cancelled', 'cancelled']);
    expect(await readCounts(storeFor(firestore), result.orchestrationId)).toMatchObject({
      cancelled: 2,
      pending: 0,
    });
    const orchestration = await orchestrations.getOrchestration(result.orchestrationId);
    expect(orchestration).toMatchObject({ cancelRequested: true, status: 'Cancelled' });
    await firstEvent;
    expect(events).toEqual([
      expect.objectContaining({ orchestrationId: result.orchestrationId, status: 'Cancelled', cancelled: 2 }),
    ]);
    expect(await orchestrations.cancel(result.orchestrationId)).toEqual({ cancelled: 0, executions: 0 });
    await subscription.close();
  });
});

describe('CloudRunTaskService without Google credentials', () => {
  it('fails each call with a typed error and leaves the process running (no rejection inside the Google client)', async () => {
    const backend = spawnBackend(
      `import { CloudRunTaskService } from '@e11/sdk';
       const launcher = new CloudRunTaskService({ projectId: 'no-credentials', region: 'us-central1' });
       const codes = [];
       for (const call of [
         () => launcher.jobLimits('x'),
         () => launcher.launch({ service: 'x', env: {}, taskCount: 1 }),
         () => launcher.cancel('projects/no-credentials/locations/us-central1/jobs/x/executions/x-1'),
       ]) {
         try { await call(); codes.push('resolved'); } catch (error) { codes.push(error.code); }
       }
       await launcher.close();
       // A rejection left inside a Google client surfaces within a tick of its call and, unhandled,
       // ends this process before the line below: give it that tick and a margin.
       await new Promise((resolve) => setTimeout(resolve, 500));
       process.stdout.write('codes ' + JSON.stringify(codes) + '\\n');`,
      {
        // Deterministic: credentials that cannot load, whatever the machine has; no emulator.
        GOOGLE_APPLICATION_CREDENTIALS: '/nonexistent/e11-adc.json',
        E11_CLOUD_RUN_EMULATOR_HOST: '',
      },
    );
    try {
      expect(JSON.parse(await backend.line('codes '))).toEqual([
        'E11_UNAVAILABLE',
        'E11_LAUNCH_FAILED',
        'E11_UNAVAILABLE',
      ]);
      expect((await backend.exited)[0]).toBe(0);
    } finally {
      await backend.kill();
    }
  });
});
