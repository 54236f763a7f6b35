import { ExecutionsClient, JobsClient } from '@google-cloud/run';
import { afterAll, describe, expect, it } from 'vitest';

import { RunLimits } from './run-limits.js';
import type { CloudRunEmulator, CloudRunLimits } from './index.js';
import { cloudRunClientOptions, startCloudRunEmulator } from './index.js';

const WINDOW_MS = 1_500;
const jobPath = (id: string, location = 'us-central1') =>
  `projects/demo-e11/locations/${location}/jobs/${id}`;

interface Running {
  emulator: CloudRunEmulator;
  jobs: JobsClient;
  executions: ExecutionsClient;
  run: (id: string, location: string) => Promise<string>;
}
const started: Running[] = [];

/** An emulator with only `limits` (one limit per test, so the other never interferes). */
async function start(limits: CloudRunLimits): Promise<Running> {
  const emulator = await startCloudRunEmulator({
    killGraceMs: 200,
    limits,
    config: {
      jobs: {
        quick: { command: 'node', args: ['-e', 'process.exit(0)'], maxRetries: 0 },
        sleeper: { command: 'node', args: ['-e', 'setInterval(() => {}, 1000)'], maxRetries: 0 },
      },
    },
  });
  const jobs = new JobsClient(cloudRunClientOptions(emulator));
  const running: Running = {
    emulator,
    jobs,
    executions: new ExecutionsClient(cloudRunClientOptions(emulator)),
    run: async (id, location) => {
      const [operation] = await jobs.runJob({ name: jobPath(id, location) });
      const name = operation.metadata?.name;
      if (!name) throw new Error('runJob returned no execution name in its metadata');
      return name;
    },
  };
  started.push(running);
  return running;
}

afterAll(async () => {
  for (const { emulator, jobs, executions } of started) {
    await jobs.close();
    await executions.close();
    await emulator.stop();
  }
});

describe("Cloud Run's limits on RunJob, per project and region", () => {
  it('answers RESOURCE_EXHAUSTED past the run requests of one window, per region, until the window moves on', async () => {
    const { emulator, jobs, run } = await start({ runRequestsPerMinute: 3, windowMs: WINDOW_MS });
    // validateOnly starts nothing and is not counted.
    await jobs.runJob({ name: jobPath('quick', 'europe-west1'), validateOnly: true });
    const first = Date.now();
    for (let i = 0; i < 3; i++) await run('quick', 'europe-west1');
    await expect(jobs.runJob({ name: jobPath('quick', 'europe-west1') })).rejects.toMatchObject({
      code: 8,
      details: expect.stringContaining("'Job run requests per minute per region'") as unknown,
    });
    expect(emulator.stats().rejectedRuns.runRequestsPerMinute).toBe(1);
    // Another region has its own quota.
    await expect(run('quick', 'asia-east1')).resolves.toContain('/locations/asia-east1/');
    // The refused call started nothing; the region's next request goes through once the window moved on.
    expect(emulator.listExecutions().filter((e) => e.location === 'europe-west1')).toHaveLength(3);
    let accepted: string | undefined;
    while (!accepted) {
      accepted = await run('quick', 'europe-west1').catch((error: { code?: number }) => {
        if (error.code !== 8) throw error;
        return undefined;
      });
      if (!accepted && Date.now() - first > 10 * WINDOW_MS) throw new Error('the window never moved on');
    }
    expect(Date.now() - first).toBeGreaterThanOrEqual(WINDOW_MS);
  });

  it('answers RESOURCE_EXHAUSTED while the region has its cap of executions not ended, and admits one when one ends', async () => {
    const { emulator, jobs, executions, run } = await start({ maxRunningExecutions: 2 });
    const region = 'us-east4';
    const running = [await run('sleeper', region), await run('sleeper', region)];
    await expect(jobs.runJob({ name: jobPath('quick', region) })).rejects.toMatchObject({
      code: 8,
      details: expect.stringContaining("'Running job executions per region'") as unknown,
    });
    expect(emulator.stats().rejectedRuns.maxRunningExecutions).toBe(1);
    expect(emulator.stats().executionsRunning).toBe(2);
    const [operation] = await executions.cancelExecution({ name: running[0] });
    await operation.promise();
    expect((await emulator.waitForExecution(running[0] ?? '')).state).toBe('cancelled');
    await expect(run('quick', region)).resolves.toContain(`/locations/${region}/`);
    const [stop] = await executions.cancelExecution({ name: running[1] });
    await stop.promise();
  });
});

describe('RunLimits (pure, on a given clock)', () => {
  it('counts accepted requests in a sliding window and refuses nothing with no limits', () => {
    let now = 0;
    const limits = new RunLimits(
      { runRequestsPerMinute: 2, maxRunningExecutions: 0, windowMs: 60_000 },
      () => now,
    );
    const region = { project: 'p', location: 'l' };
    expect(limits.admit(region, 0)).toBeUndefined();
    now = 30_000;
    expect(limits.admit(region, 0)).toBeUndefined();
    expect(limits.admit(region, 0)).toBe('runRequestsPerMinute');
    now = 60_001; // the first request left the window, the second has not
    expect(limits.admit(region, 0)).toBeUndefined();
    expect(limits.admit(region, 0)).toBe('runRequestsPerMinute');
    expect(limits.rejections()).toEqual({ runRequestsPerMinute: 2, maxRunningExecutions: 0 });

    const open = new RunLimits(
      { runRequestsPerMinute: 0, maxRunningExecutions: 0, windowMs: 60_000 },
      () => now,
    );
    for (let i = 0; i < 1_000; i++) expect(open.admit(region, i)).toBeUndefined();
  });
});
