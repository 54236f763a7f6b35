import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { loadJob, readCounts } from '@e11/core';
import { afterAll, describe, expect, it } from 'vitest';

import { runnerHarness, waitForJob } from './helpers/runner.js';

const harness = runnerHarness('runner-lifecycle');
const { store, kickOff } = harness;
afterAll(() => harness.close());

describe('timeouts, signals and crashes', () => {
  it('fires the AbortSignal at the job timeout and ends the job Errored with E11_TIMEOUT', async () => {
    const { orchestrationId, jobId, request } = await kickOff(
      'waits_for_abort',
      {},
      { timeout: 300, retry: { maxAttempts: 1 } },
    );
    const task = harness.spawn(request);
    expect((await task.exited).code).toBe(0);
    const job = await loadJob(store, orchestrationId, jobId);
    expect(job.status).toBe('Errored');
    expect(job.error).toMatchObject({ code: 'E11_TIMEOUT', retryable: true });
    expect(job.attempts[0]?.outcome).toBe('TimedOut');
    expect(job.deadLettered).toBe(true);
  });

  it('records the interruption on SIGTERM within the grace period and gives the job back', async () => {
    const { orchestrationId, jobId, request } = await kickOff('waits_for_abort', {});
    const task = harness.spawn(request);
    await waitForJob(
      store,
      orchestrationId,
      jobId,
      (job) => job.status === 'InProgress' && job.checkpoint !== null,
    );
    const signalledAt = performance.now();
    task.child.kill('SIGTERM');
    const exit = await task.exited;
    expect(exit.code).toBe(143);
    expect(performance.now() - signalledAt).toBeLessThan(10_000);
    const job = await loadJob(store, orchestrationId, jobId);
    expect(job.status).toBe('Pending');
    expect(job.claim).toBeNull();
    expect(job.error?.code).toBe('E11_INTERRUPTED');
    expect(job.attempts[0]?.outcome).toBe('Interrupted');
    expect(await readCounts(store, orchestrationId)).toMatchObject({ pending: 1, inProgress: 0 });
  });

  it('dead-letters on SIGTERM when it was the last attempt', async () => {
    const { orchestrationId, jobId, request } = await kickOff(
      'waits_for_abort',
      {},
      { retry: { maxAttempts: 1 } },
    );
    const task = harness.spawn(request);
    await waitForJob(store, orchestrationId, jobId, (job) => job.status === 'InProgress');
    task.child.kill('SIGTERM');
    expect((await task.exited).code).toBe(143);
    expect(await loadJob(store, orchestrationId, jobId)).toMatchObject({
      status: 'Errored',
      deadLettered: true,
      error: { code: 'E11_INTERRUPTED' },
    });
  });

  it('stores the result when the job stops cleanly on SIGTERM with a value', async () => {
    const { orchestrationId, jobId, request } = await kickOff('finishes_on_abort', {});
    const task = harness.spawn(request);
    await waitForJob(
      store,
      orchestrationId,
      jobId,
      (job) => job.progress?.message === 'waiting for the signal',
    );
    task.child.kill('SIGTERM');
    expect((await task.exited).code).toBe(0);
    expect(await loadJob(store, orchestrationId, jobId)).toMatchObject({
      status: 'Completed',
      result: { stoppedBy: 'E11_INTERRUPTED' },
    });
  });

  it('records the interruption after the grace period when the job ignores SIGTERM', async () => {
    const { orchestrationId, jobId, request } = await kickOff('ignores_abort', {});
    const task = harness.spawn(request, { E11_TERMINATION_GRACE_MS: '500' });
    // The job is running (a SIGTERM before run() gives the job back at once, without the grace).
    await waitForJob(
      store,
      orchestrationId,
      jobId,
      (job) => job.progress?.message === 'running, deaf to signals',
    );
    const signalledAt = performance.now();
    task.child.kill('SIGTERM');
    expect((await task.exited).code).toBe(143);
    const elapsed = performance.now() - signalledAt;
    expect(elapsed).toBeGreaterThanOrEqual(500);
    expect(elapsed).toBeLessThan(10_000);
    expect(await loadJob(store, orchestrationId, jobId)).toMatchObject({
      status: 'Pending',
      claim: null,
      error: { code: 'E11_INTERRUPTED' },
    });
  });

  it('aborts the running job when its orchestration is cancelled, writes nothing over it and exits 0', async () => {
    const { orchestrationId, jobId, request } = await kickOff('waits_for_abort', {});
    const task = harness.spawn(request);
    await waitForJob(store, orchestrationId, jobId, (job) => job.status === 'InProgress');
    await harness.orchestrations.cancel(orchestrationId);
    // Exit 0: a non-zero exit would make Cloud Run retry the task of a job nobody wants any more.
    expect((await task.exited).code).toBe(0);
    const job = await loadJob(store, orchestrationId, jobId);
    expect(job.status).toBe('Cancelled');
    expect(job.error?.code).toBe('E11_CANCELLED');
    expect(
      task.logLines().some((line) => line.severity === 'WARNING' && /cancelled/.test(String(line.message))),
    ).toBe(true);
  });

  it('records a job that ignores its abort signal after the grace period instead of hanging', async () => {
    const { orchestrationId, jobId, request } = await kickOff(
      'ignores_abort',
      {},
      { timeout: 200, retry: { maxAttempts: 1 } },
    );
    const task = harness.spawn(request, { E11_TERMINATION_GRACE_MS: '300' });
    expect((await task.exited).code).toBe(0);
    expect(await loadJob(store, orchestrationId, jobId)).toMatchObject({
      status: 'Errored',
      error: { code: 'E11_TIMEOUT' },
    });
  });

  it('logs an uncaught exception as one JSON line and exits 1 like a crash', async () => {
    const { orchestrationId, jobId, request } = await kickOff('throws_in_timer', {});
    const task = harness.spawn(request);
    expect((await task.exited).code).toBe(1);
    const errors = task.logLines().filter((line) => line.severity === 'ERROR');
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toBe('Uncaught exception in the job: boom outside the promise');
    // Nothing was recorded: the claim stays until Cloud Run's task retry or the sweeper takes it over.
    expect((await loadJob(store, orchestrationId, jobId)).status).toBe('InProgress');
  });

  it('resumes from the checkpoint when Cloud Run retries a SIGKILLed task', async () => {
    const { orchestrationId, jobId, request } = await kickOff('resumable', {});
    const cloudRun = { CLOUD_RUN_EXECUTION: 'resumable-abcde', CLOUD_RUN_TASK_INDEX: '0' };
    const first = harness.spawn(request, { ...cloudRun, CLOUD_RUN_TASK_ATTEMPT: '0' });
    await waitForJob(store, orchestrationId, jobId, (job) => job.checkpoint !== null);
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    // The heartbeat is still fresh: only the same task's next attempt may take over at once.
    const retry = harness.spawn(request, { ...cloudRun, CLOUD_RUN_TASK_ATTEMPT: '1' });
    expect((await retry.exited).code).toBe(0);
    const job = await loadJob(store, orchestrationId, jobId);
    expect(job).toMatchObject({ status: 'Completed', result: { resumedFrom: { step: 41 } }, attempt: 2 });
    expect(job.attempts.map((a) => a.outcome)).toEqual(['Crashed', 'Completed']);
  });
});

describe('duplicate delivery of one job', () => {
  it('does nothing for a second delivery of a completed job and exits 0', async () => {
    const { orchestrationId, jobId, request } = await kickOff('add_numbers', { a: 1, b: 2 });
    expect((await harness.spawn(request).exited).code).toBe(0);
    const before = await loadJob(store, orchestrationId, jobId);
    const again = harness.spawn(request);
    expect((await again.exited).code).toBe(0);
    const after = await loadJob(store, orchestrationId, jobId);
    expect(after.updatedAt.toMillis()).toBe(before.updatedAt.toMillis());
    expect(after.attempt).toBe(1);
    expect(again.output()).toMatch(/already ended Completed/);
  });

  it('runs a job once when two tasks for it start at the same time', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'e11-dup-'));
    const [file, release] = [join(dir, 'runs.txt'), join(dir, 'release')];
    const { orchestrationId, jobId, request } = await kickOff('marks_file', { file, release });
    const tasks = [harness.spawn(request), harness.spawn(request)];
    // The job cannot finish before `release` exists, so whichever task lost the claim found it running.
    const loser = await Promise.race(tasks.map((task) => task.exited.then((exit) => ({ task, exit }))));
    expect(loser.exit.code).toBe(0);
    expect(loser.task.output()).toMatch(/Another live task is running this job/);
    writeFileSync(release, '');
    const winner = tasks.find((task) => task !== loser.task);
    expect((await winner?.exited)?.code).toBe(0);
    expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(1);
    expect(await loadJob(store, orchestrationId, jobId)).toMatchObject({
      status: 'Completed',
      result: 'marked',
      attempt: 1,
    });
  });
});
