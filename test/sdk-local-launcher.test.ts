import { fileURLToPath } from 'node:url';

import { LocalProcessLauncher, OrchestrationService } from '@e11/sdk';
import { afterAll, describe, expect, inject, it } from 'vitest';

import { emulatorClients, storeFor, testProjectId } from './helpers/project.js';
import { waitForSnapshot } from './helpers/wait-for.js';

const ENTRYPOINT = fileURLToPath(new URL('./fixtures/dist/runner-entrypoint.js', import.meta.url));
const projectId = testProjectId('local-launcher');
const { firestore } = emulatorClients(projectId);
const output: string[] = [];
const launcher = new LocalProcessLauncher({
  command: process.execPath,
  args: [ENTRYPOINT],
  env: { FIRESTORE_EMULATOR_HOST: inject('firestoreHost'), GOOGLE_CLOUD_PROJECT: projectId },
  onOutput: (_, chunk) => output.push(chunk.toString('utf8')),
  killGraceMs: 1_000,
});
const orchestrations = new OrchestrationService({ firestore, launcher, launch: { ratePerMinute: 100_000 } });

afterAll(async () => {
  await launcher.close();
  await firestore.terminate();
});

describe('LocalProcessLauncher', () => {
  it('runs each job as a local process with the task env, without any Cloud Run server', async () => {
    const { orchestrationId } = await orchestrations.kickOffJob('add_numbers', [
      { a: 1, b: 2 },
      { a: 40, b: 2 },
    ]);
    const [successes, failures] = await orchestrations.getJobResults<{ sum: number }>(orchestrationId, {
      timeoutMs: 30_000,
    });
    expect(failures).toBeNull();
    expect(successes.map((s) => s.result.sum)).toEqual([3, 42]);
    expect(output.join('')).toContain('"jobName":"add_numbers"');
  });

  it('cancels a running local execution (SIGTERM reaches the task)', async () => {
    const { orchestrationId, jobIds, launch } = await orchestrations.kickOffJob('waits_for_abort', [{}]);
    const executionName = launch?.executions[0] as string;
    await waitForSnapshot(
      storeFor(firestore).collections.job(orchestrationId, jobIds[0] as string),
      (snapshot) => (snapshot.get('status') === 'InProgress' ? true : undefined),
      { what: 'the job running', timeoutMs: 30_000 },
    );
    await launcher.cancel(executionName);
    const job = await orchestrations.getJob(orchestrationId, jobIds[0] as string);
    expect(job.status).toBe('Pending');
    expect(job.error?.code).toBe('E11_INTERRUPTED');
  });
});
