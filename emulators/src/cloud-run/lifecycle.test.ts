import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { JobsClient } from '@google-cloud/run';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { cloudRunClientOptions, startCloudRunEmulator } from './index.js';

const jobPath = (id: string) => `projects/demo-e11/locations/us-central1/jobs/${id}`;

// A task that ignores SIGTERM and starts a grandchild that ignores it too, then reports both pids.
const STUBBORN_TREE = `
  const { spawn } = require('node:child_process');
  const child = spawn(process.execPath, ['-e', "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000)"], { stdio: 'ignore' });
  process.on('SIGTERM', () => {});
  console.log('grandchild ' + child.pid);
  setInterval(() => {}, 1000);`;

const INTERVAL = `
  const start = Date.now();
  setTimeout(() => console.log(JSON.stringify({ start, end: Date.now() })), 100);`;

/** Whether a process exists and is not a zombie waiting to be reaped. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return true; // no /proc (macOS): kill(0) succeeded
  }
}

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'e11-cloud-run-lifecycle-'));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('Cloud Run Jobs emulator lifecycle', () => {
  it('stop() kills every task process group, grandchildren included, and leaves no process behind', async () => {
    const grandchildren = new Map<number, number>();
    let bothReported: () => void = () => undefined;
    const reported = new Promise<void>((resolve) => (bothReported = resolve));
    const emulator = await startCloudRunEmulator({
      killGraceMs: 300,
      config: {
        jobs: { tree: { command: 'node', args: ['-e', STUBBORN_TREE], taskCount: 2, maxRetries: 0 } },
      },
      onTaskOutput: (info, chunk) => {
        const match = /grandchild (\d+)/.exec(chunk);
        if (match) grandchildren.set(info.taskIndex, Number(match[1]));
        if (grandchildren.size === 2) bothReported();
      },
    });
    const jobs = new JobsClient(cloudRunClientOptions(emulator));
    const [operation] = await jobs.runJob({ name: jobPath('tree') });
    await jobs.close();
    await reported;
    const [execution] = emulator.listExecutions();
    const pids = [...(execution?.tasks.flatMap((t) => t.pids) ?? []), ...grandchildren.values()];
    expect(pids).toHaveLength(4);
    expect(pids.every(isAlive)).toBe(true);
    expect(emulator.stats().tasksRunning).toBe(2);

    const stopping = emulator.stop();
    expect(emulator.stop()).toBe(stopping);
    await stopping;

    expect(pids.filter(isAlive)).toEqual([]);
    expect(emulator.stats().tasksRunning).toBe(0);
    const final = await emulator.waitForExecution(operation.metadata?.name ?? '');
    expect(final).toMatchObject({ state: 'cancelled', cancelledCount: 2 });
    expect(final.message).toContain('emulator stopped');
  });

  it('fails with one clear line naming the port when the port is already in use', async () => {
    const first = await startCloudRunEmulator();
    try {
      await expect(startCloudRunEmulator({ port: first.port })).rejects.toMatchObject({
        code: 'E11_PORT_IN_USE',
        message: expect.stringContaining(`Port ${first.port} on 127.0.0.1 is already in use`) as unknown,
      });
    } finally {
      await first.stop();
    }
  });

  it('resolves a relative cwd against the config file directory', async () => {
    mkdirSync(join(dir, 'work'));
    const file = join(dir, 'cloud-run.json');
    writeFileSync(
      file,
      JSON.stringify({
        jobs: { pwd: { command: 'node', args: ['-e', 'console.log(process.cwd())'], cwd: 'work' } },
      }),
    );
    const emulator = await startCloudRunEmulator({ config: file });
    const jobs = new JobsClient(cloudRunClientOptions(emulator));
    try {
      const [operation] = await jobs.runJob({ name: jobPath('pwd') });
      const name = operation.metadata?.name ?? '';
      await emulator.waitForExecution(name);
      expect(emulator.taskOutput(name, 0).trim()).toBe(realpathSync(join(dir, 'work')));
    } finally {
      await jobs.close();
      await emulator.stop();
    }
  });

  it('runs no more than maxConcurrentTasks task processes at once across the emulator', async () => {
    const emulator = await startCloudRunEmulator({ maxConcurrentTasks: 1 });
    emulator.defineJob('interval', { command: 'node', args: ['-e', INTERVAL], taskCount: 3, parallelism: 0 });
    const jobs = new JobsClient(cloudRunClientOptions(emulator));
    try {
      const [operation] = await jobs.runJob({ name: jobPath('interval') });
      const name = operation.metadata?.name ?? '';
      await emulator.waitForExecution(name);
      const intervals = [0, 1, 2]
        .map((i) => JSON.parse(emulator.taskOutput(name, i)) as { start: number; end: number })
        .sort((a, b) => a.start - b.start);
      for (let i = 1; i < intervals.length; i += 1) {
        expect(intervals[i]?.start).toBeGreaterThanOrEqual(intervals[i - 1]?.end ?? Infinity);
      }
    } finally {
      await jobs.close();
      await emulator.stop();
    }
  });

  it('rejects a job defined in code without a command, naming the field', async () => {
    const emulator = await startCloudRunEmulator();
    try {
      expect(() => emulator.defineJob('no-command', {} as never)).toThrow(/"no-command".*command/);
      expect(() => emulator.defineJob('Bad_Id', { command: 'node' })).toThrow(/job id "Bad_Id"/);
    } finally {
      await emulator.stop();
    }
  });

  it('rejects waiting for an execution it does not know', async () => {
    const emulator = await startCloudRunEmulator();
    try {
      await expect(
        emulator.waitForExecution('projects/p/locations/l/jobs/j/executions/j-aaaaa'),
      ).rejects.toMatchObject({
        code: 'E11_CLOUD_RUN_UNKNOWN_EXECUTION',
      });
    } finally {
      await emulator.stop();
    }
  });
});
