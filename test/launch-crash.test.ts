import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

import { createFirestore } from '@e11/core';
import { type CloudRunEmulator, startCloudRunEmulator } from '@e11/emulators';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { testProjectId } from './helpers/project.js';

/**
 * A backend process whose record of a failed launch cannot be written: the job document is unreadable
 * (a corrupt or newer-schema document, written by the test from outside), so `failPendingJob` rejects.
 * The process must stay up (no unhandled rejection), end the other job, and leave this one for the
 * sweeper. (An unreachable Firestore makes the same write reject only after ~4 minutes of client
 * retries, measured; a test cannot wait that long.)
 */
const projectId = testProjectId('launch-crash');
const firestore = createFirestore({ projectId, emulatorHost: inject('firestoreHost') });
let emulator: CloudRunEmulator;

beforeAll(async () => {
  emulator = await startCloudRunEmulator({ config: { jobs: {} } });
});

afterAll(async () => {
  await emulator.stop();
  await firestore.terminate();
});

/** A backend that kicks off `no_such_job` (its Cloud Run job does not exist) in the background. */
const BACKEND = `
import { OrchestrationService } from '@e11/sdk';
const service = new OrchestrationService({
  region: 'europe-west1',
  cloudRunEndpoint: process.env.CLOUD_RUN_ENDPOINT,
  launch: { ratePerMinute: 100000, initialBackoff: 20, maxBackoff: 50, maxAttempts: 100 },
});
const result = await service.kickOffJob('no_such_job', [{ a: 1 }, { a: 2 }], { background: true, launchConcurrency: 1 });
process.stdout.write('kicked-off ' + result.orchestrationId + ' ' + result.jobIds.join(' ') + '\\n');
const report = await result.launched.catch((error) => ({ error: String(error) }));
process.stdout.write('launched ' + JSON.stringify(report) + '\\n');
await service.close();
`;

describe('a launch failure that cannot be recorded', () => {
  it('does not crash the backend; the job stays for the sweeper', async () => {
    // Transient answers first, so the launch is under way while the test corrupts a job document.
    emulator.faults.rejectNextRuns(1_000_000, 'UNAVAILABLE');
    const backend = spawn(process.execPath, ['--input-type=module', '-e', BACKEND], {
      env: {
        ...process.env,
        GOOGLE_CLOUD_PROJECT: projectId,
        FIRESTORE_EMULATOR_HOST: inject('firestoreHost'),
        CLOUD_RUN_ENDPOINT: emulator.endpoint,
        E11_LOG_LEVEL: 'silent',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    backend.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = once(backend, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    const lines = createInterface({ input: backend.stdout })[Symbol.asyncIterator]();
    const first = await lines.next();
    const [, orchestrationId = '', firstJob = '', secondJob = ''] = String(first.value).split(' ');
    const orchestration = firestore.doc(`e11_orchestrations/${orchestrationId}`);
    await orchestration.collection('jobs').doc(firstJob).set({ status: 'NoSuchStatus' });
    // Now every launch fails for good (the Cloud Run job does not exist).
    emulator.faults.clear();
    const [code] = await exited;
    const output: string[] = [];
    for (let line = await lines.next(); !line.done; line = await lines.next())
      output.push(String(line.value));
    expect(stderr).not.toMatch(/unhandled/i);
    expect(code, stderr).toBe(0);
    expect(output[0]).toMatch(/^launched /);
    const report = JSON.parse((output[0] ?? '').slice('launched '.length)) as Record<string, number>;
    expect(report).toMatchObject({ launched: 0, failed: 1, deferred: 1 });
    const second = await orchestration.collection('jobs').doc(secondJob).get();
    expect(second.get('status')).toBe('Errored');
    // Not every job was dealt with: the launch is not marked complete, so the sweeper looks again.
    expect((await orchestration.get()).get('launchCompletedAt')).toBeNull();
  });
});
