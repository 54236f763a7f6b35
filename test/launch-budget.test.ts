import { spawn } from 'node:child_process';
import { once } from 'node:events';

import { createFirestore } from '@e11/core';
import { type CloudRunEmulator, startCloudRunEmulator } from '@e11/emulators';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { testProjectId } from './helpers/project.js';

/**
 * Cloud Run's run-request quota is the project's and region's: two backend processes launching into one
 * region must share it, not each spend its own. The Cloud Run emulator enforces a quota of 20 RunJob
 * calls per 6 s window (a shortened minute); each backend is configured for 150 a minute (15 per 6 s,
 * plus a burst of 3). Alone, each stays under the quota; together, without a shared budget, they send
 * up to 36 in a window and meet RESOURCE_EXHAUSTED. With the budget in Firestore, no call is refused.
 */
const projectId = testProjectId('launch-budget');
const firestore = createFirestore({ projectId, emulatorHost: inject('firestoreHost') });
const JOBS_EACH = 20;
let emulator: CloudRunEmulator;

beforeAll(async () => {
  emulator = await startCloudRunEmulator({
    config: { jobs: { 'budget-job': { command: 'true', maxRetries: 0 } } },
    limits: { runRequestsPerMinute: 20, windowMs: 6_000 },
  });
});

afterAll(async () => {
  await emulator.stop();
  await firestore.terminate();
});

/** A backend process: kicks off JOBS_EACH per-job jobs, waits for their launch, prints its report. */
const BACKEND = `
import { OrchestrationService } from '@e11/sdk';
const service = new OrchestrationService({
  region: 'europe-west1',
  collectionPrefix: 'budget_',
  cloudRunEndpoint: process.env.CLOUD_RUN_ENDPOINT,
  launch: { ratePerMinute: 150, initialBackoff: 20, maxBackoff: 100, concurrency: 8 },
});
const params = Array.from({ length: ${JOBS_EACH} }, (_, i) => ({ i }));
const result = await service.kickOffJob('budget_job', params);
process.stdout.write('REPORT ' + JSON.stringify(await result.launched) + '\\n');
await service.close();
`;

async function backend(): Promise<{ launched: number; failed: number; deferred: number; requests: number }> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', BACKEND], {
    env: {
      ...process.env,
      GOOGLE_CLOUD_PROJECT: projectId,
      FIRESTORE_EMULATOR_HOST: inject('firestoreHost'),
      CLOUD_RUN_ENDPOINT: emulator.endpoint,
      E11_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`backend exited ${code}: ${stderr.slice(-2_000)}`);
  const line = stdout.split('\n').find((l) => l.startsWith('REPORT '));
  if (!line) throw new Error(`backend printed no report: ${stdout.slice(-2_000)}`);
  return JSON.parse(line.slice(7)) as {
    launched: number;
    failed: number;
    deferred: number;
    requests: number;
  };
}

describe("the region's run-request budget, shared through Firestore", () => {
  it('keeps two backend processes together under Cloud Run quota: every job launched, no call refused', async () => {
    const reports = await Promise.all([backend(), backend()]);
    for (const report of reports) {
      expect(report).toMatchObject({ launched: JOBS_EACH, failed: 0, deferred: 0 });
      // Each request was sent once: none was refused and retried.
      expect(report.requests).toBe(JOBS_EACH);
    }
    const stats = emulator.stats();
    expect(stats.rejectedRuns.runRequestsPerMinute).toBe(0);
    expect(stats.calls['RunJob']).toBe(2 * JOBS_EACH);
    // The budget is one document of the region, on Firestore's clock.
    const budget = await firestore.doc(`budget_maintenance/launch-budget:${projectId}:europe-west1`).get();
    expect(budget.get('ratePerMinute')).toBe(150);
  }, 90_000);
});
