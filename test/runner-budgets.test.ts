import { DEFAULTS, loadJob } from '@e11/core';
import { createRunnerLogger, executeJob } from '@e11/runner';
import { afterAll, describe, expect, it } from 'vitest';

import { FENCING_JOBS } from './fixtures/dist/fencing-jobs.js';
import { runnerHarness } from './helpers/runner.js';

const harness = runnerHarness('runner-budgets');
const { store, kickOff } = harness;
afterAll(() => harness.close());

describe('the document budget of the largest allowed job', () => {
  it('stores max params, result and checkpoint, huge errors and progress, and many attempts over three epochs', async () => {
    const maxAttempts = 10;
    const failUntil = 2 * maxAttempts + 5;
    // The params are exactly at the limit: `{"failUntil":25,"blob":"…"}` as JSON text.
    const frame = JSON.stringify({ failUntil, blob: '' }).length;
    const params = { failUntil, blob: 'p'.repeat(DEFAULTS.maxParamsBytes - frame) };
    expect(JSON.stringify(params).length).toBe(DEFAULTS.maxParamsBytes);
    const { orchestrationId, jobId, request } = await kickOff('largest_job', params, {
      retry: { maxAttempts },
    });
    const run = () =>
      executeJob({
        classes: FENCING_JOBS,
        env: { ...request.env, E11_HEARTBEAT_INTERVAL_MS: '1000' },
        firestore: store.firestore,
        logger: createRunnerLogger({ write: () => undefined }),
      });

    // Epoch 1 and 2: every attempt fails; each failure is recorded (no write is rejected).
    for (let epoch = 1; epoch <= 2; epoch++) {
      expect(await run()).toMatchObject({
        outcome: 'failed',
        status: 'Errored',
        attempt: epoch * maxAttempts,
      });
      const failed = await loadJob(store, orchestrationId, jobId);
      expect(failed).toMatchObject({ status: 'Errored', deadLettered: true, epoch });
      expect(Buffer.byteLength(failed.error?.message ?? '')).toBeLessThanOrEqual(
        DEFAULTS.maxErrorMessageBytes,
      );
      expect(Buffer.byteLength(failed.error?.stack ?? '')).toBeLessThanOrEqual(DEFAULTS.maxErrorStackBytes);
      expect(Buffer.byteLength(failed.progress?.message ?? '')).toBeLessThanOrEqual(
        DEFAULTS.maxProgressMessageBytes,
      );
      expect((await harness.orchestrations.retryFailed(orchestrationId)).jobIds).toEqual([jobId]);
    }

    // Epoch 3: five more failures, then the largest result (26 attempts: more than the history keeps).
    expect(await run()).toMatchObject({ outcome: 'completed', status: 'Completed', attempt: failUntil + 1 });
    const job = await loadJob(store, orchestrationId, jobId);
    expect(job).toMatchObject({ status: 'Completed', epoch: 3, attempt: failUntil + 1, error: null });
    expect(job.params).toEqual(params);
    expect(job.result).toBe('r'.repeat(65_535));
    expect(job.checkpoint).toMatchObject({ attempt: failUntil + 1 });
    // The history keeps the first attempt and the latest ones, and counts what it dropped.
    expect(job.attempts.length).toBeLessThanOrEqual(DEFAULTS.maxAttemptRecords);
    expect(job.attempts[0]).toMatchObject({ attempt: 1, epoch: 1, outcome: 'Errored' });
    expect(job.attempts.at(-1)).toMatchObject({ attempt: failUntil + 1, epoch: 3, outcome: 'Completed' });
    expect(job.attemptsDropped.count + job.attempts.length).toBe(failUntil + 1);
  });
});
