import { JobsClient } from '@google-cloud/run';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import type { CloudRunEmulator, TaskOutputInfo } from './index.js';
import { cloudRunClientOptions, startCloudRunEmulator } from './index.js';

const jobPath = (id: string) => `projects/demo-e11/locations/us-central1/jobs/${id}`;
// Prints "started"; attempt 0 then waits forever, later attempts exit 0.
const SLEEP_ON_FIRST_ATTEMPT = `console.log('started'); if (process.env.CLOUD_RUN_TASK_ATTEMPT === '0') setInterval(() => {}, 1000);`;

let emulator: CloudRunEmulator;
let jobs: JobsClient;
const started = new Map<string, () => void>();

/** Resolves when the execution's task 0 prints "started" (through onTaskOutput, not by polling). */
function taskStarted(executionName: string): Promise<void> {
  return new Promise((resolve) => started.set(executionName, resolve));
}

async function run(id: string): Promise<string> {
  const [operation] = await jobs.runJob({ name: jobPath(id) });
  const name = operation.metadata?.name;
  if (!name) throw new Error('runJob returned no execution name in its metadata');
  return name;
}

beforeAll(async () => {
  emulator = await startCloudRunEmulator({
    killGraceMs: 200,
    onTaskOutput: (info: TaskOutputInfo, chunk) => {
      if (info.taskIndex === 0 && chunk.includes('started')) started.get(info.executionName)?.();
    },
    config: {
      jobs: {
        quick: { command: 'node', args: ['-e', 'process.exit(0)'], maxRetries: 0 },
        sleeper: { command: 'node', args: ['-e', 'setInterval(() => {}, 1000)'], maxRetries: 0 },
        'sleep-then-pass': { command: 'node', args: ['-e', SLEEP_ON_FIRST_ATTEMPT], maxRetries: 1 },
      },
    },
  });
  jobs = new JobsClient(cloudRunClientOptions(emulator));
});

afterEach(() => emulator.faults.clear());

afterAll(async () => {
  await jobs.close();
  await emulator.stop();
});

describe('Cloud Run Jobs emulator faults', () => {
  it('rejectNextRuns(2, UNAVAILABLE) fails exactly the next two runJob calls with code 14', async () => {
    const before = emulator.stats().calls['RunJob'] ?? 0;
    emulator.faults.rejectNextRuns(2, 'UNAVAILABLE');
    await expect(jobs.runJob({ name: jobPath('quick') })).rejects.toMatchObject({ code: 14 });
    await expect(jobs.runJob({ name: jobPath('quick') })).rejects.toMatchObject({ code: 14 });
    const name = await run('quick');
    expect((await emulator.waitForExecution(name)).state).toBe('succeeded');
    expect(emulator.stats().calls['RunJob']).toBe(before + 3);
    expect(emulator.listExecutions().filter((e) => e.jobId === 'quick')).toHaveLength(1);
  });

  it('rejectNextRuns(1, RESOURCE_EXHAUSTED) fails the next runJob call with code 8, like a quota', async () => {
    emulator.faults.rejectNextRuns(1, 'RESOURCE_EXHAUSTED');
    await expect(jobs.runJob({ name: jobPath('quick') })).rejects.toMatchObject({ code: 8 });
    await expect(run('quick')).resolves.toContain('/executions/quick-');
  });

  it('rejectRunsFor(ms, RESOURCE_EXHAUSTED) fails every runJob call in the window, then lets them through', async () => {
    const windowMs = 400;
    const opened = Date.now();
    emulator.faults.rejectRunsFor(windowMs, 'RESOURCE_EXHAUSTED');
    // Not a count: any number of calls inside the window is refused.
    for (let call = 0; call < 5; call++) {
      await expect(jobs.runJob({ name: jobPath('quick') })).rejects.toMatchObject({ code: 8 });
    }
    // Retry until the window ends (a poll of the real server with a deadline).
    let name: string | undefined;
    let refusedAfterWindow = 0;
    while (!name && Date.now() - opened < 10_000) {
      name = await run('quick').catch((error: unknown) => {
        expect(error).toMatchObject({ code: 8 });
        if (Date.now() - opened > windowMs + 100) refusedAfterWindow++;
        return undefined;
      });
    }
    expect(Date.now() - opened).toBeGreaterThanOrEqual(windowMs);
    expect(refusedAfterWindow).toBe(0);
    expect((await emulator.waitForExecution(name ?? '')).state).toBe('succeeded');
  });

  it('rejectRunsFor(ms, UNAVAILABLE) comes after counted rejections, and clear() closes the window', async () => {
    emulator.faults.rejectNextRuns(1, 'RESOURCE_EXHAUSTED');
    emulator.faults.rejectRunsFor(60_000, 'UNAVAILABLE');
    await expect(jobs.runJob({ name: jobPath('quick') })).rejects.toMatchObject({ code: 8 });
    await expect(jobs.runJob({ name: jobPath('quick') })).rejects.toMatchObject({ code: 14 });
    await expect(jobs.runJob({ name: jobPath('quick') })).rejects.toMatchObject({ code: 14 });
    emulator.faults.clear();
    await expect(run('quick')).resolves.toContain('/executions/quick-');
  });

  it('killNextTaskAfter kills the next task that starts', async () => {
    emulator.faults.killNextTaskAfter(100);
    const name = await run('sleeper');
    const execution = await emulator.waitForExecution(name);
    expect(execution).toMatchObject({ state: 'failed', failedCount: 1 });
    expect(execution.tasks[0]).toMatchObject({ signal: 'SIGKILL', timedOut: false });
  });

  it('killTask kills a running task, which is then retried', async () => {
    const name = await run('sleep-then-pass');
    await taskStarted(name);
    await expect(emulator.faults.killTask(name, 0)).resolves.toBe(true);
    const execution = await emulator.waitForExecution(name);
    expect(execution).toMatchObject({ state: 'succeeded', retriedCount: 1 });
    expect(execution.tasks[0]?.pids).toHaveLength(2);
    await expect(emulator.faults.killTask(name, 0)).resolves.toBe(false);
  });

  it('delayStart holds each new task back before its process starts', async () => {
    emulator.faults.delayStart(300);
    const name = await run('quick');
    const execution = await emulator.waitForExecution(name);
    const waitedMs = (execution.tasks[0]?.startTime?.getTime() ?? 0) - execution.createTime.getTime();
    expect(waitedMs).toBeGreaterThanOrEqual(300);
  });

  it('rejects nonsense fault parameters', () => {
    expect(() => emulator.faults.rejectNextRuns(-1, 'UNAVAILABLE')).toThrow(RangeError);
    expect(() => emulator.faults.delayStart(1.5)).toThrow(RangeError);
    expect(() => emulator.faults.rejectRunsFor(-5, 'UNAVAILABLE')).toThrow(RangeError);
    expect(() => emulator.faults.rejectRunsFor(100, 'INTERNAL' as 'UNAVAILABLE')).toThrow(RangeError);
  });
});
