import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ExecutionsClient, JobsClient, TasksClient } from '@google-cloud/run';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { CloudRunEmulator, TaskOutputInfo } from './index.js';
import { cloudRunClientOptions, startCloudRunEmulator } from './index.js';

const PARENT = 'projects/demo-e11/locations/us-central1';
const jobPath = (id: string) => `${PARENT}/jobs/${id}`;

/** Task programs, written to a temp dir and run with `node`. */
const SCRIPTS = {
  'env.mjs': `
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => /^(CLOUD_RUN_|GOOGLE_CLOUD_PROJECT$|FOO$|BAR$|EXTRA$)/.test(k)),
    );
    console.log(JSON.stringify({ env, argv: process.argv.slice(2), cwd: process.cwd() }));`,
  'interval.mjs': `
    const start = Date.now();
    setTimeout(() => {
      console.log(JSON.stringify({ index: Number(process.env.CLOUD_RUN_TASK_INDEX), start, end: Date.now() }));
    }, 150);`,
  'stubborn.mjs': `
    process.on('SIGTERM', () => console.log('SIGTERM ignored'));
    console.log('started');
    setInterval(() => {}, 1000);`,
  'sleeper.mjs': `
    console.log('started');
    setInterval(() => {}, 1000);`,
  'flaky.mjs': `
    console.log('attempt ' + process.env.CLOUD_RUN_TASK_ATTEMPT);
    process.exit(process.env.CLOUD_RUN_TASK_ATTEMPT === '0' ? 1 : 0);`,
  'fail-index.mjs': `
    process.exit(process.env.CLOUD_RUN_TASK_INDEX === process.env.FAIL_INDEX ? 3 : 0);`,
};

let dir: string;
let emulator: CloudRunEmulator;
let jobs: JobsClient;
let executions: ExecutionsClient;
let tasks: TasksClient;
const outputListeners = new Set<(info: TaskOutputInfo, chunk: string) => void>();

/** Resolves when a task of `executionName` writes `text` (event-driven, through onTaskOutput). */
function outputSeen(executionName: string, taskIndex: number, text: string): Promise<void> {
  return new Promise((resolve) => {
    let seen = '';
    const listener = (info: TaskOutputInfo, chunk: string) => {
      if (info.executionName !== executionName || info.taskIndex !== taskIndex) return;
      seen += chunk;
      if (seen.includes(text)) {
        outputListeners.delete(listener);
        resolve();
      }
    };
    outputListeners.add(listener);
    if (emulator.taskOutput(executionName, taskIndex).includes(text)) {
      outputListeners.delete(listener);
      resolve();
    }
  });
}

async function run(id: string, overrides?: Parameters<JobsClient['runJob']>[0]['overrides']) {
  const [operation] = await jobs.runJob({ name: jobPath(id), overrides });
  const name = operation.metadata?.name;
  if (!name) throw new Error('runJob returned no execution name in its metadata');
  return { operation, name };
}

function jsonLines(text: string): unknown[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as unknown);
}

function expectGrpcError(promise: Promise<unknown>, code: number) {
  return expect(promise).rejects.toMatchObject({ code });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'e11-cloud-run-test-'));
  for (const [file, source] of Object.entries(SCRIPTS)) writeFileSync(join(dir, file), source);
  const script = (file: keyof typeof SCRIPTS) => join(dir, file);
  emulator = await startCloudRunEmulator({
    killGraceMs: 300,
    env: { EXTRA: 'from-emulator' },
    onTaskOutput: (info, chunk) => outputListeners.forEach((listener) => listener(info, chunk)),
    config: {
      jobs: {
        env: {
          command: 'node',
          args: [script('env.mjs'), 'job-arg'],
          env: { FOO: 'job', BAR: 'job' },
          maxRetries: 0,
        },
        interval: {
          command: 'node',
          args: [script('interval.mjs')],
          taskCount: 3,
          parallelism: 1,
          maxRetries: 0,
        },
        'interval-pair': {
          command: 'node',
          args: [script('interval.mjs')],
          taskCount: 4,
          parallelism: 2,
          maxRetries: 0,
        },
        stubborn: { command: 'node', args: [script('stubborn.mjs')], timeout: '800ms', maxRetries: 0 },
        sleeper: {
          command: 'node',
          args: [script('sleeper.mjs')],
          taskCount: 3,
          parallelism: 1,
          maxRetries: 0,
        },
        flaky: { command: 'node', args: [script('flaky.mjs')], maxRetries: 1 },
        'fail-index': {
          command: 'node',
          args: [script('fail-index.mjs')],
          env: { FAIL_INDEX: '1' },
          cpu: '2',
          memory: '1Gi',
          taskCount: 3,
          maxRetries: 0,
        },
      },
    },
  });
  const options = cloudRunClientOptions(emulator);
  jobs = new JobsClient(options);
  executions = new ExecutionsClient(options);
  tasks = new TasksClient(options);
});

afterAll(async () => {
  await Promise.all([jobs.close(), executions.close(), tasks.close()]);
  await emulator.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('Cloud Run Jobs emulator with the official client', () => {
  it('returns the job definition from getJob under any project and location', async () => {
    const [job] = await jobs.getJob({ name: 'projects/any-project/locations/europe-west1/jobs/fail-index' });
    expect(job.name).toBe('projects/any-project/locations/europe-west1/jobs/fail-index');
    expect(job.template?.taskCount).toBe(3);
    expect(job.template?.template?.containers?.[0]?.command).toEqual(['node']);
    const [list] = await jobs.listJobs({ parent: PARENT });
    expect(list.map((j) => j.name)).toContain(jobPath('env'));
  });

  it("returns a job's cpu and memory limits from getJob, and none for a job that sets none", async () => {
    const [limited] = await jobs.getJob({ name: jobPath('fail-index') });
    expect(limited.template?.template?.containers?.[0]?.resources?.limits).toEqual({
      cpu: '2',
      memory: '1Gi',
    });
    const [plain] = await jobs.getJob({ name: jobPath('env') });
    expect(plain.template?.template?.containers?.[0]?.resources?.limits ?? {}).toEqual({});
  });

  it('gives a task the job env merged with the override env, the Cloud Run variables and the project', async () => {
    const { name } = await run('env', {
      containerOverrides: [{ env: [{ name: 'FOO', value: 'override' }] }],
    });
    const execution = await emulator.waitForExecution(name);
    expect(execution.state).toBe('succeeded');
    const [output] = jsonLines(emulator.taskOutput(name, 0)) as [
      { env: Record<string, string>; argv: string[] },
    ];
    expect(output.env).toEqual({
      FOO: 'override',
      BAR: 'job',
      EXTRA: 'from-emulator',
      GOOGLE_CLOUD_PROJECT: 'demo-e11',
      CLOUD_RUN_JOB: 'env',
      CLOUD_RUN_EXECUTION: execution.id,
      CLOUD_RUN_TASK_INDEX: '0',
      CLOUD_RUN_TASK_ATTEMPT: '0',
      CLOUD_RUN_TASK_COUNT: '1',
    });
    expect(name).toMatch(/^projects\/demo-e11\/locations\/us-central1\/jobs\/env\/executions\/env-[a-z]{5}$/);
    expect(output.argv).toEqual(['job-arg']);
  });

  it('replaces the job args with override args, and clearArgs empties them', async () => {
    const script = join(dir, 'env.mjs');
    const replaced = await run('env', { containerOverrides: [{ args: [script, 'one', 'two'] }] });
    await emulator.waitForExecution(replaced.name);
    expect(jsonLines(emulator.taskOutput(replaced.name, 0))).toMatchObject([{ argv: ['one', 'two'] }]);

    // With no args at all, `node` reads its program from stdin, which is closed: it exits 0 silently.
    const cleared = await run('env', { containerOverrides: [{ clearArgs: true }] });
    const execution = await emulator.waitForExecution(cleared.name);
    expect(execution.args).toEqual([]);
    expect(execution.state).toBe('succeeded');
  });

  it('runs taskCount tasks with CLOUD_RUN_TASK_INDEX 0..n-1 and CLOUD_RUN_TASK_COUNT n', async () => {
    const { name } = await run('env', { taskCount: 3 });
    const execution = await emulator.waitForExecution(name);
    expect(execution.taskCount).toBe(3);
    const envs = [0, 1, 2].map(
      (i) => (jsonLines(emulator.taskOutput(name, i))[0] as { env: Record<string, string> }).env,
    );
    expect(envs.map((env) => env['CLOUD_RUN_TASK_INDEX'])).toEqual(['0', '1', '2']);
    expect(envs.every((env) => env['CLOUD_RUN_TASK_COUNT'] === '3')).toBe(true);
  });

  it('never overlaps the tasks of an execution with parallelism 1', async () => {
    const { name } = await run('interval');
    await emulator.waitForExecution(name);
    const intervals = [0, 1, 2].map(
      (i) => jsonLines(emulator.taskOutput(name, i))[0] as { start: number; end: number },
    );
    const sorted = intervals.sort((a, b) => a.start - b.start);
    for (let i = 1; i < sorted.length; i += 1) {
      expect(sorted[i]?.start).toBeGreaterThanOrEqual(sorted[i - 1]?.end ?? Infinity);
    }
  });

  it('runs at most `parallelism` tasks of an execution at once', async () => {
    const { name } = await run('interval-pair');
    await emulator.waitForExecution(name);
    const intervals = [0, 1, 2, 3].map(
      (i) => jsonLines(emulator.taskOutput(name, i))[0] as { start: number; end: number },
    );
    const maxOverlap = Math.max(
      ...intervals.map((a) => intervals.filter((b) => b.start <= a.start && a.start < b.end).length),
    );
    expect(maxOverlap).toBeLessThanOrEqual(2);
  });

  it('sends SIGTERM when a task times out and SIGKILL after killGraceMs when it ignores SIGTERM', async () => {
    const { name } = await run('stubborn');
    const execution = await emulator.waitForExecution(name);
    const [task] = execution.tasks;
    expect(execution.state).toBe('failed');
    expect(task).toMatchObject({ state: 'failed', timedOut: true, signal: 'SIGKILL' });
    expect(emulator.taskOutput(name, 0)).toContain('SIGTERM ignored');
    const ranMs = (task?.completionTime?.getTime() ?? 0) - (task?.startTime?.getTime() ?? 0);
    expect(ranMs).toBeGreaterThanOrEqual(800 + 300 - 50);
    const [apiTask] = await tasks.getTask({ name: task?.name });
    expect(apiTask.lastAttemptResult).toMatchObject({ termSignal: 9, status: { code: 4 } });
  });

  it('retries a task that fails on attempt 0 and succeeds on attempt 1 (maxRetries 1)', async () => {
    const { name } = await run('flaky');
    const execution = await emulator.waitForExecution(name);
    expect(execution).toMatchObject({
      state: 'succeeded',
      succeededCount: 1,
      failedCount: 0,
      retriedCount: 1,
    });
    expect(execution.tasks[0]).toMatchObject({ attempt: 1, retried: 1 });
    expect(emulator.taskOutput(name, 0)).toBe('attempt 0\nattempt 1\n');
    const [apiTasks] = await tasks.listTasks({ parent: name });
    expect(apiTasks[0]).toMatchObject({ index: 0, retried: 1, lastAttemptResult: { exitCode: 0 } });
  });

  it('reports counts and conditions through getExecution, listExecutions and listTasks', async () => {
    const { name } = await run('fail-index');
    await emulator.waitForExecution(name);
    const [execution] = await executions.getExecution({ name });
    expect(execution).toMatchObject({
      name,
      job: 'fail-index',
      taskCount: 3,
      runningCount: 0,
      succeededCount: 2,
      failedCount: 1,
      cancelledCount: 0,
      retriedCount: 0,
      reconciling: false,
    });
    expect(execution.conditions?.[0]).toMatchObject({ type: 'Completed', state: 'CONDITION_FAILED' });
    expect(execution.completionTime).toBeTruthy();
    expect(execution.etag).toBeTruthy();

    const second = await run('fail-index', {
      containerOverrides: [{ env: [{ name: 'FAIL_INDEX', value: 'none' }] }],
    });
    await emulator.waitForExecution(second.name);
    const [listed] = await executions.listExecutions({ parent: jobPath('fail-index') });
    expect(listed.map((e) => e.name)).toEqual([second.name, name]);
    expect(listed[0]?.conditions?.[0]).toMatchObject({ type: 'Completed', state: 'CONDITION_SUCCEEDED' });

    const [taskList] = await tasks.listTasks({ parent: name });
    expect(taskList.map((t) => [t.index, t.lastAttemptResult?.exitCode, t.conditions?.[0]?.state])).toEqual([
      [0, 0, 'CONDITION_SUCCEEDED'],
      [1, 3, 'CONDITION_FAILED'],
      [2, 0, 'CONDITION_SUCCEEDED'],
    ]);
  });

  it('pages listExecutions newest first', async () => {
    const [page, nextRequest] = await executions.listExecutions(
      { parent: jobPath('env'), pageSize: 2 },
      { autoPaginate: false },
    );
    expect(page).toHaveLength(2);
    expect(nextRequest?.pageToken).toBeTruthy();
    const created = page.map((e) => Number(e.createTime?.seconds) * 1000 + (e.createTime?.nanos ?? 0) / 1e6);
    expect(created[0]).toBeGreaterThanOrEqual(created[1] ?? Infinity);
  });

  it('cancelExecution stops the running task and cancels the tasks not yet started', async () => {
    const { name } = await run('sleeper');
    await outputSeen(name, 0, 'started');
    const [cancel] = await executions.cancelExecution({ name });
    const [cancelled] = await cancel.promise();
    expect(cancelled.name).toBe(name);
    const execution = await emulator.waitForExecution(name);
    expect(execution).toMatchObject({
      state: 'cancelled',
      cancelledCount: 3,
      succeededCount: 0,
      runningCount: 0,
    });
    expect(execution.tasks[0]).toMatchObject({ signal: 'SIGTERM' });
    expect(execution.tasks[1]?.pids).toEqual([]);
    const [apiExecution] = await executions.getExecution({ name });
    expect(apiExecution.conditions?.[0]).toMatchObject({ type: 'Completed', executionReason: 'CANCELLED' });
  });

  it('resolves operation.promise() with the finished Execution', async () => {
    const { operation, name } = await run('env');
    expect(operation.metadata?.name).toBe(name);
    const [result] = await operation.promise();
    expect(result).toMatchObject({ name, succeededCount: 1, taskCount: 1 });
    expect(result.completionTime).toBeTruthy();
  });

  it('rejects operation.promise() with FAILED_PRECONDITION when the execution fails', async () => {
    const { operation } = await run('fail-index');
    await expectGrpcError(operation.promise(), 9);
  });

  it('answers NOT_FOUND (code 5) for an unknown job, execution or task', async () => {
    await expect(jobs.runJob({ name: jobPath('no-such-job') })).rejects.toMatchObject({
      code: 5,
      details:
        "Resource 'no-such-job' of kind 'JOB' in region 'us-central1' in project 'demo-e11' does not exist.",
    });
    await expectGrpcError(jobs.getJob({ name: jobPath('no-such-job') }), 5);
    await expectGrpcError(executions.getExecution({ name: `${jobPath('env')}/executions/env-zzzzz` }), 5);
    await expectGrpcError(
      tasks.getTask({ name: `${jobPath('env')}/executions/env-zzzzz/tasks/env-zzzzz-task0` }),
      5,
    );
  });

  it('answers INVALID_ARGUMENT (code 3) for overrides the real API rejects, and starts nothing', async () => {
    const before = emulator.listExecutions().length;
    const bad: Parameters<typeof run>[1][] = [
      { taskCount: -1 },
      { taskCount: 10_001 },
      { timeout: { seconds: 0 } },
      { timeout: { seconds: -5 } },
      { timeout: { seconds: 8 * 24 * 3600 } },
      { containerOverrides: [{ env: [{ name: '', value: 'x' }] }] },
      { containerOverrides: [{ env: [{ name: 'NOT VALID', value: 'x' }] }] },
      { containerOverrides: [{ env: [{ name: 'CLOUD_RUN_TASK_INDEX', value: '7' }] }] },
      { containerOverrides: [{ args: ['a'] }, { args: ['b'] }] },
    ];
    for (const overrides of bad) await expectGrpcError(run('env', overrides), 3);
    await expectGrpcError(jobs.runJob({ name: 'jobs/env' }), 3);
    expect(emulator.listExecutions()).toHaveLength(before);
  });

  it('applies a timeout override to the execution', async () => {
    const { name } = await run('env', { timeout: { seconds: 42 } });
    const execution = await emulator.waitForExecution(name);
    expect(execution.timeoutMs).toBe(42_000);
    const [apiTask] = await tasks.getTask({ name: execution.tasks[0]?.name });
    expect(Number(apiTask.timeout?.seconds)).toBe(42);
  });

  it('counts calls per RPC method', () => {
    const { calls } = emulator.stats();
    expect(calls['RunJob']).toBeGreaterThan(10);
    expect(calls['GetExecution']).toBeGreaterThan(0);
    expect(calls['ListTasks']).toBeGreaterThan(0);
  });
});
