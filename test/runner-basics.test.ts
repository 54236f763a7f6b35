import { type JobDoc, loadJob, loadJobByIndex, readCounts } from '@e11/core';
import { createRunnerLogger, executeJob } from '@e11/runner';
import { afterAll, describe, expect, it } from 'vitest';

import { AddNumbersJob } from './fixtures/dist/runner-jobs.js';
import { runnerHarness } from './helpers/runner.js';

const harness = runnerHarness('runner-basics');
const { store, kickOff } = harness;
afterAll(() => harness.close());

describe('runE11Job in a real task process', () => {
  it('runs the job named by JOB_NAME, stores its result and exits 0', async () => {
    const { orchestrationId, jobId, request } = await kickOff('add_numbers', { a: 2, b: 40 });
    const task = harness.spawn(request);
    expect(await task.exited).toEqual({ code: 0, signal: null });
    const job = await loadJob(store, orchestrationId, jobId);
    expect(job).toMatchObject({ status: 'Completed', result: { sum: 42 }, attempt: 1, error: null });
    expect(job.startedAt).not.toBeNull();
    expect(job.finishedAt).not.toBeNull();
    expect(job.progress?.ratio).toBe(1);
    expect(await readCounts(store, orchestrationId)).toMatchObject({
      completed: 1,
      inProgress: 0,
      pending: 0,
    });
  });

  it('writes Cloud Logging JSON lines labelled with the orchestration, job and job name', async () => {
    const { orchestrationId, jobId, request } = await kickOff('add_numbers', { a: 1, b: 1 });
    const task = harness.spawn(request);
    await task.exited;
    const line = task.logLines().find((entry) => entry.message === 'adding numbers');
    expect(line).toMatchObject({
      severity: 'INFO',
      a: 1,
      'logging.googleapis.com/labels': { orchestrationId, jobId, jobName: 'add_numbers', attempt: '1' },
      serviceContext: { service: 'add_numbers' },
    });
    expect(line?.timestamp).toEqual({
      seconds: expect.any(Number) as unknown,
      nanos: expect.any(Number) as unknown,
    });
  });

  it('stores a thrown error with its context, never the sensitive params, and exits 0: its end is recorded, Cloud Run spends no retry', async () => {
    const secret = 'sk-live-4242-very-secret';
    const { orchestrationId, jobId, request } = await kickOff(
      'always_fails',
      { apiKey: secret },
      { sensitiveKeys: ['apiKey'] },
    );
    const task = harness.spawn(request);
    expect((await task.exited).code).toBe(0);
    const job = await loadJob(store, orchestrationId, jobId);
    expect(job.status).toBe('Errored');
    expect(job.deadLettered).toBe(false);
    expect(job.error).toMatchObject({
      code: 'UPSTREAM_REJECTED',
      name: 'PermanentError',
      jobName: 'always_fails',
      orchestrationId,
      jobId,
      attempt: 1,
      retryable: false,
      message: 'the upstream rejected key [REDACTED]',
    });
    expect(job.error?.stack).toContain('[REDACTED]');
    expect(JSON.stringify(job.error)).not.toContain(secret);
    expect(task.output()).not.toContain(secret);
  });

  it('retries a transient error in the task and succeeds on the second attempt', async () => {
    const { orchestrationId, jobId, request } = await kickOff('flaky_once', {});
    const task = harness.spawn(request);
    expect((await task.exited).code).toBe(0);
    const job = await loadJob(store, orchestrationId, jobId);
    expect(job).toMatchObject({ status: 'Completed', result: 'ok on attempt 2', attempt: 2 });
    expect(job.attempts.map((a) => [a.attempt, a.outcome, a.error?.message ?? null])).toEqual([
      [1, 'Errored', 'the database was busy'],
      [2, 'Completed', null],
    ]);
  });

  it('dead-letters a transient error once the attempts are used up', async () => {
    const { orchestrationId, jobId, request } = await kickOff(
      'flaky_once',
      {},
      { retry: { maxAttempts: 1 } },
    );
    const task = harness.spawn(request);
    expect((await task.exited).code).toBe(0);
    expect(await loadJob(store, orchestrationId, jobId)).toMatchObject({
      status: 'Errored',
      deadLettered: true,
      attempt: 1,
    });
  });

  it('rejects params that fail the job schema, naming the field', async () => {
    const { orchestrationId, jobId, request } = await kickOff('validated', {
      count: 3,
      owner: { email: 'not-an-email' },
    });
    const task = harness.spawn(request);
    expect((await task.exited).code).toBe(0);
    const job = await loadJob(store, orchestrationId, jobId);
    expect(job.status).toBe('Errored');
    expect(job.error?.code).toBe('E11_VALIDATION_FAILED');
    expect(job.error?.message).toMatch(/owner\.email/);
  });

  it('passes schema-valid params and stores the result', async () => {
    const { orchestrationId, jobId, request } = await kickOff('validated', {
      count: 21,
      owner: { email: 'a@b.co' },
    });
    expect((await harness.spawn(request).exited).code).toBe(0);
    expect((await loadJob(store, orchestrationId, jobId)).result).toBe(42);
  });

  it('writes no separate heartbeat while progress writes keep the heartbeat fresh', async () => {
    /** Job document writes while running: heartbeat only (progress unchanged) or with progress. */
    async function countWrites(heartbeatIntervalMs: string, ms: number) {
      const { orchestrationId, jobId, request } = await kickOff('steady_progress', { ms });
      const seen = { heartbeatOnly: 0, progress: 0 };
      let last: { beat?: number; progress?: number } | undefined;
      const unsubscribe = store.collections.job(orchestrationId, jobId).onSnapshot((snapshot) => {
        if (snapshot.get('status') !== 'InProgress') return;
        const beat = (snapshot.get('heartbeatAt') as JobDoc['heartbeatAt'])?.toMillis();
        const progress = (snapshot.get('progress') as JobDoc['progress'])?.at.toMillis();
        // The first one is the claim (it sets the first heartbeat); count the writes after it.
        if (last && progress !== undefined && progress !== last.progress) seen.progress++;
        else if (last && beat !== last.beat) seen.heartbeatOnly++;
        last = { beat, progress };
      });
      const task = harness.spawn(request, { E11_HEARTBEAT_INTERVAL_MS: heartbeatIntervalMs });
      expect((await task.exited).code).toBe(0);
      unsubscribe();
      return seen;
    }
    // Progress is written about once a second; with a 1.5 s heartbeat interval every tick finds the
    // heartbeat fresh, so none is written on its own.
    const steady = await countWrites('1500', 4_000);
    expect(steady.progress).toBeGreaterThanOrEqual(3);
    expect(steady.heartbeatOnly).toBe(0);
    // With a 200 ms interval, the ticks between two progress writes still write the heartbeat.
    const frequent = await countWrites('200', 2_000);
    expect(frequent.heartbeatOnly).toBeGreaterThanOrEqual(2);
  });

  it('throttles a burst of progress reports to a few writes and stores the last one', async () => {
    const { orchestrationId, jobId, request } = await kickOff('progress_burst', { steps: 100 });
    // Every distinct progress write while the job runs (heartbeats also change the document; they
    // do not change `progress.at`).
    const writes = new Map<number, { ratio: number; message: string | null }>();
    const unsubscribe = store.collections.job(orchestrationId, jobId).onSnapshot((snapshot) => {
      const progress = snapshot.get('progress') as JobDoc['progress'];
      if (progress && snapshot.get('status') === 'InProgress')
        writes.set(progress.at.toMillis(), { ratio: progress.ratio, message: progress.message });
    });
    const task = harness.spawn(request);
    expect((await task.exited).code).toBe(0);
    const job = await loadJob(store, orchestrationId, jobId);
    unsubscribe();
    // ~100 reports over a few hundred ms: one write at once, then at most one per second.
    expect(writes.size).toBeGreaterThanOrEqual(1);
    expect(writes.size).toBeLessThanOrEqual(3);
    // The completion stores ratio 1 and keeps the last written message.
    const lastWrite = [...writes.entries()].sort(([a], [b]) => a - b).at(-1)?.[1];
    expect(lastWrite?.message).toMatch(/^step \d+$/);
    expect(job).toMatchObject({
      status: 'Completed',
      result: 100,
      progress: { ratio: 1, message: lastWrite?.message },
    });
  });

  it('ends the job Errored when its result is too large to store', async () => {
    const { orchestrationId, jobId, request } = await kickOff('too_big_result', {});
    expect((await harness.spawn(request).exited).code).toBe(0);
    const job = await loadJob(store, orchestrationId, jobId);
    expect(job).toMatchObject({ status: 'Errored', result: null, deadLettered: false });
    expect(job.error).toMatchObject({ code: 'E11_JOB_FAILED', retryable: false });
    expect(job.error?.message).toMatch(/result is \d+ bytes, over the 65536-byte limit/);
  });

  it('finds its job by CLOUD_RUN_TASK_INDEX in array mode', async () => {
    const { orchestrationId } = await harness.orchestrations.kickOffJob(
      'add_numbers',
      [
        { a: 1, b: 1 },
        { a: 20, b: 3 },
      ],
      { mode: 'array' },
    );
    const request = harness.launcher.requests.find((r) => r.env.ORCHESTRATION_ID === orchestrationId);
    if (!request) throw new Error('no launch recorded');
    expect(request).toMatchObject({ taskCount: 2 });
    expect(request.env.JOB_ID).toBeUndefined();
    const task = harness.spawn(request, { CLOUD_RUN_TASK_INDEX: '1', CLOUD_RUN_EXECUTION: 'add-numbers-x1' });
    expect((await task.exited).code).toBe(0);
    expect(await loadJobByIndex(store, orchestrationId, 1)).toMatchObject({
      status: 'Completed',
      result: { sum: 23 },
    });
    expect((await loadJobByIndex(store, orchestrationId, 0)).status).toBe('Pending');
  });
});

describe('executeJob in-process', () => {
  it('runs a job with the given client and logger, and leaves process signals and exit alone', async () => {
    const { orchestrationId, jobId, request } = await kickOff('add_numbers', { a: 5, b: 6 });
    const lines: string[] = [];
    const sigterm = process.listenerCount('SIGTERM');
    const result = await executeJob({
      classes: [AddNumbersJob],
      env: { ...request.env, E11_HEARTBEAT_INTERVAL_MS: '200' },
      firestore: store.firestore,
      logger: createRunnerLogger({ write: (line) => lines.push(line) }),
    });
    expect(result).toEqual({
      orchestrationId,
      jobId,
      exitCode: 0,
      outcome: 'completed',
      status: 'Completed',
      attempt: 1,
    });
    expect(process.listenerCount('SIGTERM')).toBe(sigterm);
    expect((await loadJob(store, orchestrationId, jobId)).result).toEqual({ sum: 11 });
    expect(lines.map((line) => (JSON.parse(line) as { message: string }).message)).toContain(
      'adding numbers',
    );
  });
});

describe('bad input to a task', () => {
  it('exits 2 with one clear line when the env lacks JOB_NAME', async () => {
    const task = harness.spawn({ env: { ORCHESTRATION_ID: 'x', JOB_ID: 'y' } });
    expect((await task.exited).code).toBe(2);
    const errors = task.logLines().filter((line) => line.severity === 'ERROR');
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toMatch(/JOB_NAME is not set/);
    expect(errors[0]?.stack_trace).toMatch(/^E11Error: Task environment: JOB_NAME is not set.*\n {4}at /);
    expect(errors[0]?.serviceContext).toEqual({ service: 'e11-runner' });
  });

  it('exits 2 when the job document does not exist', async () => {
    const { orchestrationId } = await kickOff('add_numbers', { a: 1, b: 2 });
    const task = harness.spawn({
      env: { JOB_NAME: 'add_numbers', ORCHESTRATION_ID: orchestrationId, JOB_ID: 'missing' },
    });
    expect((await task.exited).code).toBe(2);
    const errors = task.logLines().filter((line) => line.severity === 'ERROR');
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toMatch(/Job missing of orchestration .* does not exist\. Check JOB_ID/);
  });

  it('ends the job Errored and exits 2 for a job name no class carries, listing the known ones', async () => {
    const { orchestrationId, jobId, request } = await kickOff('no_such_class', { a: 1 });
    const task = harness.spawn(request);
    expect((await task.exited).code).toBe(2);
    const job = await loadJob(store, orchestrationId, jobId);
    expect(job.status).toBe('Errored');
    expect(job.error?.code).toBe('E11_UNKNOWN_JOB_NAME');
    expect(job.error?.message).toMatch(
      /No job class is named 'no_such_class' .*known: add_numbers, always_fails/,
    );
    expect(await readCounts(store, orchestrationId)).toMatchObject({ errored: 1, inProgress: 0 });
    const errors = task.logLines().filter((line) => line.severity === 'ERROR');
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toBe(job.error?.message);
  });

  it('refuses to start with two classes under the same @JobName, naming both', async () => {
    const { request } = await kickOff('twin', {});
    const entry = new URL('./fixtures/dist/duplicate-names-entrypoint.js', import.meta.url).pathname;
    const task = harness.spawn(request, {}, entry);
    expect((await task.exited).code).toBe(2);
    const errors = task.logLines().filter((line) => line.severity === 'ERROR');
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toMatch(/FirstTwin and SecondTwin both use @JobName\('twin'\)/);
  });
});
