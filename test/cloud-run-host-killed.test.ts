import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { afterAll, describe, expect, it } from 'vitest';

import { isAlive, stillAliveAfter } from './helpers/processes.js';

/**
 * The local Cloud Run emulator's promise that no task process outlives its host, even when the host is
 * SIGKILLed (no exit handler runs): a host process starts the emulator from the built package and runs
 * a task that would run for minutes and starts a grandchild; the test SIGKILLs the host and waits for
 * both to be gone.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));

const HOST = `
import { JobsClient } from '@google-cloud/run';
import { cloudRunClientOptions, startCloudRunEmulator } from '@e11/emulators';
const task = "const { spawn } = require('node:child_process');" +
  "const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });" +
  "console.log('pids ' + process.pid + ' ' + child.pid); setInterval(() => {}, 1000);";
const emulator = await startCloudRunEmulator({
  config: { jobs: { long: { command: process.execPath, args: ['-e', task], maxRetries: 0, timeout: '600s' } } },
  onTaskOutput: (_, chunk) => process.stdout.write(chunk),
});
const jobs = new JobsClient(cloudRunClientOptions(emulator));
await jobs.runJob({ name: 'projects/demo-e11/locations/us-central1/jobs/long' });
`;

let host: ChildProcess | undefined;
const started: number[] = [];
afterAll(() => {
  host?.kill('SIGKILL');
  for (const pid of started) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
});

describe('the Cloud Run emulator when its host is SIGKILLed', () => {
  it('leaves no task process (nor what it started) running', async () => {
    host = spawn(process.execPath, ['--input-type=module', '-e', HOST], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const pids = await new Promise<number[]>((resolve, reject) => {
      let text = '';
      host?.stdout?.on('data', (chunk: Buffer) => {
        text += chunk.toString('utf8');
        const match = /pids (\d+) (\d+)/.exec(text);
        if (match) resolve([Number(match[1]), Number(match[2])]);
      });
      host?.once('exit', (code) => reject(new Error(`the host exited (${code}) before its task started`)));
    });
    started.push(...pids);
    expect(pids.every(isAlive)).toBe(true);
    host.kill('SIGKILL');
    expect(await stillAliveAfter(pids, 10_000)).toEqual([]);
  });
});
