import { claimJob, completeJob, failJob, JobStatus, type Logger, readCounts } from '@e11/core';
import { OrchestrationService } from '@e11/sdk';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';

import { Capture } from './helpers/capture.js';
import { emulatorClients, storeFor, testProjectId } from './helpers/project.js';
import { RecordingLauncher } from './helpers/recording-launcher.js';
import { rejection } from './helpers/rejection.js';

const projectId = testProjectId('sdk-kickoff');
const { firestore } = emulatorClients(projectId);
afterAll(() => firestore.terminate());

let prefixCounter = 0;
/** A service with its own collection prefix, so "nothing was written" can be checked exactly. */
function service(launcher = new RecordingLauncher(), options: { maxJobs?: number; logger?: Logger } = {}) {
  const collectionPrefix = `k${++prefixCounter}_`;
  const orchestrations = new OrchestrationService({
    firestore,
    launcher,
    collectionPrefix,
    launch: { ratePerMinute: 100_000, initialBackoff: 1, maxBackoff: 5 },
    maxJobsPerOrchestration: options.maxJobs,
    logger: options.logger,
  });
  return { orchestrations, launcher, collectionPrefix };
}

describe('kickOffJob', () => {
  it.each([1, 100, 2_000])(
    'registers and launches %i parameter sets, one execution each with the task env',
    async (n) => {
      const { orchestrations, launcher } = service();
      const params = Array.from({ length: n }, (_, i) => ({ chunk: i, file: `part-${i}.csv` }));
      const result = await orchestrations.kickOffJob('process_batch', params, {
        tags: { customerId: 'acme' },
      });
      expect(result.jobIds).toHaveLength(n);
      expect(new Set(result.jobIds).size).toBe(n);
      // The call waited for the budget's burst (1,667 at 100,000 a minute) or every launch if fewer.
      expect(result.launch?.launched).toBeGreaterThanOrEqual(Math.min(n, 1_667));
      expect(await result.launched).toMatchObject({ launched: n, failed: 0, requests: n });
      expect(launcher.requests).toHaveLength(n);
      const request = launcher.requests.find((r) => r.env.JOB_ID === result.jobIds[n - 1]);
      expect(request).toMatchObject({
        service: 'process-batch',
        taskCount: 1,
        env: {
          JOB_NAME: 'process_batch',
          ORCHESTRATION_ID: result.orchestrationId,
          JOB_ID: result.jobIds[n - 1],
        },
      });
      const orchestration = await orchestrations.getOrchestration(result.orchestrationId);
      expect(orchestration).toMatchObject({
        status: 'InProgress',
        total: n,
        jobName: 'process_batch',
        tags: { customerId: 'acme' },
        counts: { pending: n, inProgress: 0, completed: 0, errored: 0, cancelled: 0 },
      });
      const last = await orchestrations.getJob(result.orchestrationId, result.jobIds[n - 1] as string);
      expect(last).toMatchObject({
        index: n - 1,
        status: 'Pending',
        params: { chunk: n - 1, file: `part-${n - 1}.csv` },
      });
    },
  );

  it('marks exactly the jobs whose launch fails permanently as Errored and launches the others', async () => {
    // With one launch at a time, requests go out in index order: fail those of jobs 2 and 7.
    const launcher = new RecordingLauncher().failWith((_, sequence) => sequence === 2 || sequence === 7, 3);
    const { orchestrations, collectionPrefix } = service(launcher);
    const params = Array.from({ length: 10 }, (_, i) => ({ i }));
    const result = await orchestrations.kickOffJob('process_batch', params, { launchConcurrency: 1 });
    expect(result.launch).toMatchObject({ launched: 8, failed: 2, requests: 10 });
    const errored = await orchestrations.listJobs(result.orchestrationId, { status: JobStatus.Errored });
    expect(errored.map((job) => job.index)).toEqual([2, 7]);
    expect(errored[0]?.error).toMatchObject({
      code: 'E11_LAUNCH_FAILED',
      jobId: result.jobIds[2],
      retryable: false,
    });
    expect(
      (await orchestrations.listJobs(result.orchestrationId, { status: JobStatus.Pending })).length,
    ).toBe(8);
    expect(await readCounts(storeFor(firestore, { collectionPrefix }), result.orchestrationId)).toMatchObject(
      {
        pending: 8,
        errored: 2,
      },
    );
  });

  it('retries 429 and 503 with backoff and then launches', async () => {
    const launcher = new RecordingLauncher().failWith(() => true, 14, 2).failWith(() => true, 8, 1);
    const { orchestrations } = service(launcher);
    const result = await orchestrations.kickOffJob('process_batch', [{ a: 1 }]);
    expect(result.launch).toMatchObject({ launched: 1, failed: 0, requests: 4 });
    expect((await orchestrations.getJob(result.orchestrationId, result.jobIds[0] as string)).status).toBe(
      'Pending',
    );
  });

  it('fails every job on a service-wide NOT_FOUND without calling Cloud Run for each', async () => {
    const launcher = new RecordingLauncher().failWith(() => true, 5);
    const { orchestrations } = service(launcher);
    const result = await orchestrations.kickOffJob(
      'missing_job',
      Array.from({ length: 25 }, (_, i) => ({ i })),
      {
        launchConcurrency: 1,
      },
    );
    expect(result.launch).toMatchObject({ launched: 0, failed: 25 });
    expect(launcher.requests).toHaveLength(1);
    const jobs = await orchestrations.listJobs(result.orchestrationId, { status: JobStatus.Errored });
    expect(jobs).toHaveLength(25);
    expect(jobs[3]?.error).toMatchObject({
      code: 'E11_LAUNCH_FAILED',
      jobName: 'missing_job',
      orchestrationId: result.orchestrationId,
    });
  });

  it('returns the same orchestration for a repeated or concurrent idempotency key and launches once', async () => {
    const { orchestrations, launcher } = service();
    const params = [{ a: 1 }, { a: 2 }, { a: 3 }];
    const results = await Promise.all(
      Array.from({ length: 5 }, () =>
        orchestrations.kickOffJob('process_batch', params, { idempotencyKey: 'nightly-2026-11-23' }),
      ),
    );
    expect(new Set(results.map((r) => r.orchestrationId)).size).toBe(1);
    expect(results.filter((r) => !r.deduplicated)).toHaveLength(1);
    for (const r of results) expect(r.jobIds).toEqual(results[0]?.jobIds);
    expect(launcher.requests).toHaveLength(3);
    const again = await orchestrations.kickOffJob('process_batch', params, {
      idempotencyKey: 'nightly-2026-11-23',
    });
    expect(again).toMatchObject({ deduplicated: true, orchestrationId: results[0]?.orchestrationId });
    expect(launcher.requests).toHaveLength(3);
    const misuse = await rejection(
      orchestrations.kickOffJob('other_job', params, { idempotencyKey: 'nightly-2026-11-23' }),
    );
    expect(misuse.code).toBe('E11_INVALID_OPTIONS');
  });
});

describe('kickOffJob with an idempotency key whose first kick-off is still registering', () => {
  /** A kick-off done, then set back to "registration in progress", as if its first call were still writing. */
  async function midRegistration(key: string, logger?: Logger) {
    const ctx = service(new RecordingLauncher(), { logger });
    const params = [{ a: 1 }, { a: 2 }, { a: 3 }];
    const first = await ctx.orchestrations.kickOffJob('process_batch', params, { idempotencyKey: key });
    const ref = firestore.doc(`${ctx.collectionPrefix}orchestrations/${first.orchestrationId}`);
    await ref.update({ registered: false });
    return { ...ctx, params, first, ref };
  }

  it('fails at once with E11_INVALID_OPTIONS when the key was used for another job', async () => {
    const { orchestrations, params, launcher } = await midRegistration('k-other');
    const misuse = await rejection(
      orchestrations.kickOffJob('other_job', params, { idempotencyKey: 'k-other' }),
    );
    expect(misuse).toMatchObject({ code: 'E11_INVALID_OPTIONS', context: { path: 'idempotencyKey' } });
    expect(launcher.requests).toHaveLength(3);
  });

  it('registers afresh and launches when the orchestration it waits on is removed', async () => {
    const log = new Capture();
    const logger = pino({ level: 'debug' }, log);
    const { orchestrations, params, launcher, first, ref } = await midRegistration('k-removed', logger);

    const retry = orchestrations.kickOffJob('process_batch', params, { idempotencyKey: 'k-removed' });
    await log.waitFor(/waiting for that kick-off/);
    // What the first call's own clean-up does when its registration fails (and the sweeper does for an
    // abandoned one).
    await firestore.recursiveDelete(ref);

    const second = await retry;
    expect(second).toMatchObject({ orchestrationId: first.orchestrationId, deduplicated: false });
    expect(second.launch).toMatchObject({ launched: 3, failed: 0 });
    expect(launcher.requests).toHaveLength(6);
    expect((await ref.get()).data()).toMatchObject({ registered: true, total: 3 });
    expect(log.text).toContain('registering afresh');
  });
});

describe('bad input to kickOffJob', () => {
  const cyclic: Record<string, unknown> = {};
  cyclic.loop = cyclic;
  const cases: [string, string, unknown[], object?][] = [
    ['an empty params array', 'E11_INVALID_PARAMS', []],
    ['a function value', 'E11_INVALID_PARAMS', [{ a: 1 }, { f: () => 1 }]],
    ['a class instance', 'E11_INVALID_PARAMS', [{ when: new Map() }]],
    ['a cyclic object', 'E11_INVALID_PARAMS', [cyclic]],
    ['an undefined value', 'E11_INVALID_PARAMS', [{ a: undefined }]],
    ['a parameter set over 1 MiB', 'E11_INVALID_PARAMS', [{ blob: 'x'.repeat(1_100_000) }]],
    ['more jobs than the ceiling', 'E11_TOO_MANY_JOBS', Array.from({ length: 6 }, () => ({}))],
    ['an invalid tag', 'E11_INVALID_OPTIONS', [{}], { tags: { status: 'x' } }],
    ['an invalid topic', 'E11_INVALID_OPTIONS', [{}], { topic: 'x' }],
  ];

  it.each(cases)('rejects %s with %s and writes nothing', async (_, code, params, options) => {
    const { orchestrations, launcher, collectionPrefix } = service(new RecordingLauncher(), { maxJobs: 5 });
    const error = await rejection(orchestrations.kickOffJob('process_batch', params as never[], options));
    expect(error.code).toBe(code);
    expect(error.message.length).toBeGreaterThan(10);
    expect((await firestore.collection(`${collectionPrefix}orchestrations`).get()).size).toBe(0);
    expect(launcher.requests).toHaveLength(0);
  });

  it('rejects an invalid job name with E11_INVALID_JOB_NAME and writes nothing', async () => {
    const { orchestrations, collectionPrefix } = service();
    for (const name of ['', 'has space', '9lives', 'trailing_']) {
      expect((await rejection(orchestrations.kickOffJob(name, [{}]))).code).toBe('E11_INVALID_JOB_NAME');
    }
    expect((await firestore.collection(`${collectionPrefix}orchestrations`).get()).size).toBe(0);
  });
});

describe('reading orchestrations and results', () => {
  it('partitions results into successes and failures with their original params and error context', async () => {
    const { orchestrations, collectionPrefix } = service();
    const params = Array.from({ length: 6 }, (_, i) => ({ chunk: i }));
    const { orchestrationId, jobIds } = await orchestrations.kickOffJob('sum_chunk', params);
    const store = storeFor(firestore, { collectionPrefix });
    const results = orchestrations.getJobResults<{ sum: number }, { chunk: number }>(orchestrationId, {
      timeoutMs: 30_000,
    });
    for (const [index, jobId] of jobIds.entries()) {
      const claim = { id: jobId, executionName: null, taskIndex: null, taskAttempt: null };
      await claimJob(store, { orchestrationId, jobId, claim, maxAttempts: 1, heartbeatTimeoutMs: 60_000 });
      if (index === 4) {
        await failJob(store, {
          orchestrationId,
          jobId,
          claimId: jobId,
          outcome: 'Errored',
          final: true,
          deadLettered: false,
          error: {
            message: 'chunk 4 is corrupt',
            code: 'E11_JOB_FAILED',
            name: 'Error',
            stack: null,
            jobName: 'sum_chunk',
            orchestrationId,
            jobId,
            attempt: 1,
            retryable: false,
          },
        });
      } else {
        await completeJob(store, { orchestrationId, jobId, claimId: jobId, result: { sum: index * 10 } });
      }
    }
    const [successes, failures] = await results;
    expect(successes.map((s) => s.result.sum)).toEqual([0, 10, 20, 30, 50]);
    expect(successes[1]).toMatchObject({ jobId: jobIds[1], index: 1, params: { chunk: 1 } });
    expect(failures).toEqual([
      expect.objectContaining({
        jobId: jobIds[4],
        params: { chunk: 4 },
        jobName: 'sum_chunk',
        orchestrationId,
        status: 'Errored',
        error: expect.objectContaining({ message: 'chunk 4 is corrupt', code: 'E11_JOB_FAILED' }) as unknown,
      }),
    ]);
    expect(await readCounts(store, orchestrationId)).toMatchObject({ completed: 5, errored: 1 });
    expect(
      (await orchestrations.listJobs(orchestrationId, { status: JobStatus.Errored })).map((j) => j.id),
    ).toEqual([jobIds[4]]);
  });

  it('returns null failures when every job succeeded', async () => {
    const { orchestrations, collectionPrefix } = service();
    const { orchestrationId, jobIds } = await orchestrations.kickOffJob('sum_chunk', [{ chunk: 0 }]);
    const jobId = jobIds[0] as string;
    const store = storeFor(firestore, { collectionPrefix });
    await claimJob(store, {
      orchestrationId,
      jobId,
      claim: { id: 'c', executionName: null, taskIndex: null, taskAttempt: null },
      maxAttempts: 1,
      heartbeatTimeoutMs: 60_000,
    });
    await completeJob(store, { orchestrationId, jobId, claimId: 'c', result: 42 });
    await expect(orchestrations.getJobResults(orchestrationId)).resolves.toEqual([
      [{ jobId, index: 0, params: { chunk: 0 }, result: 42 }],
      null,
    ]);
  });

  it('times out with E11_TIMEOUT and reports unknown ids with typed errors', async () => {
    const { orchestrations } = service();
    const { orchestrationId } = await orchestrations.kickOffJob('sum_chunk', [{ chunk: 0 }]);
    expect((await rejection(orchestrations.getJobResults(orchestrationId, { timeoutMs: 200 }))).code).toBe(
      'E11_TIMEOUT',
    );
    expect((await rejection(orchestrations.getJobResults('nope'))).code).toBe('E11_UNKNOWN_ORCHESTRATION');
    expect((await rejection(orchestrations.getOrchestration('nope'))).code).toBe('E11_UNKNOWN_ORCHESTRATION');
    expect((await rejection(orchestrations.getJob(orchestrationId, 'nope'))).code).toBe('E11_UNKNOWN_JOB');
  });
});
