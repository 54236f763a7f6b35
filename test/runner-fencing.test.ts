import { fileURLToPath } from 'node:url';

import {
  claimJob,
  DEFAULTS,
  type JobDoc,
  loadJob,
  recordHeartbeat,
  recordProgress,
  saveCheckpoint,
} from '@e11/core';
import { afterAll, describe, expect, it } from 'vitest';

import { runnerHarness, waitForJob } from './helpers/runner.js';

const harness = runnerHarness('runner-fencing');
const { store, kickOff } = harness;
afterAll(() => harness.close());

const ENTRYPOINT = fileURLToPath(new URL('./fixtures/dist/fencing-entrypoint.js', import.meta.url));
const spawn = (request: { env: Record<string, string> }, extraEnv: Record<string, string> = {}) =>
  harness.spawn(request, extraEnv, ENTRYPOINT);

/** Takes the job over the way a replacement task does once the owner's heartbeat looks stale. */
async function takeOver(orchestrationId: string, jobId: string, claimId: string, heartbeatTimeoutMs = 0) {
  return claimJob(store, {
    orchestrationId,
    jobId,
    claim: { id: claimId, executionName: null, taskIndex: null, taskAttempt: null },
    maxAttempts: 3,
    heartbeatTimeoutMs,
  });
}

describe('claim fencing of heartbeat, progress and checkpoint writes', () => {
  it('refuses every activity write of a claim that is no longer the job’s, and changes nothing', async () => {
    const { orchestrationId, jobId } = await kickOff('add_numbers', { a: 1, b: 1 });
    expect((await takeOver(orchestrationId, jobId, 'old-owner')).outcome).toBe('claimed');
    expect((await takeOver(orchestrationId, jobId, 'new-owner')).outcome).toBe('claimed');
    const before = await loadJob(store, orchestrationId, jobId);
    const stale = { orchestrationId, jobId, claimId: 'old-owner' };
    expect(await saveCheckpoint(store, stale, { owner: 'old' })).toBe('lost');
    expect(await recordProgress(store, stale, 0.9, 'old progress')).toBe('lost');
    expect(await recordHeartbeat(store, stale)).toBe('lost');
    const after = await loadJob(store, orchestrationId, jobId);
    expect(after.updatedAt.toMillis()).toBe(before.updatedAt.toMillis());
    expect(after.heartbeatAt?.toMillis()).toBe(before.heartbeatAt?.toMillis());
    expect(after).toMatchObject({ checkpoint: null, progress: null, claim: { id: 'new-owner' } });

    const current = { orchestrationId, jobId, claimId: 'new-owner' };
    expect(await saveCheckpoint(store, current, { owner: 'new' })).toBe('recorded');
    expect(await recordProgress(store, current, 0.5, 'new progress')).toBe('recorded');
    expect(await recordHeartbeat(store, current)).toBe('recorded');
    expect(await loadJob(store, orchestrationId, jobId)).toMatchObject({
      checkpoint: { owner: 'new' },
      progress: { ratio: 0.5, message: 'new progress' },
    });
  });

  it('stops a task whose claim was taken over: its signal aborts, it writes nothing more and exits 0', async () => {
    const { orchestrationId, jobId, request } = await kickOff('checkpoints_after_loss', {});
    const task = spawn(request);
    await waitForJob(store, orchestrationId, jobId, (job) => job.checkpoint !== null);
    const claimed = await takeOver(orchestrationId, jobId, 'replacement');
    expect(claimed).toMatchObject({ outcome: 'claimed', takeover: true });
    const replacement = { orchestrationId, jobId, claimId: 'replacement' };
    const saved = await saveCheckpoint(store, replacement, { owner: 'replacement' });

    expect(await task.exited).toEqual({ code: 0, signal: null });
    const job = await loadJob(store, orchestrationId, jobId);
    // The new owner's checkpoint survives; the old task stored no result, progress or checkpoint.
    expect(job).toMatchObject({
      status: 'InProgress',
      claim: { id: 'replacement' },
      checkpoint: { owner: 'replacement' },
      result: null,
    });
    expect(job.progress?.message ?? null).not.toBe('after abort');
    const lines = task.logLines();
    expect(lines.find((line) => line.message === 'signal aborted')).toMatchObject({
      reason: 'E11_CLAIM_LOST',
    });
    expect(lines.filter((line) => line.message === 'checkpoint saved after abort')).toEqual([]);
    expect(lines.filter((line) => line.message === 'checkpoint refused')).toHaveLength(5);
    expect(
      lines.every((line) => line.message !== 'checkpoint refused' || line.code === 'E11_CLAIM_LOST'),
    ).toBe(true);
    expect(saved).toBe('recorded');
  });

  it('keeps the heartbeat of a job that blocks its event loop fresh, so nobody takes it over, and completes', async () => {
    const heartbeatTimeoutMs = 10_000;
    const { orchestrationId, jobId, request } = await kickOff(
      'blocks_event_loop',
      { ms: 14_000 },
      { heartbeatTimeout: heartbeatTimeoutMs },
    );
    const task = spawn(request, { E11_HEARTBEAT_INTERVAL_MS: '1000' });
    let exited = false;
    const exit = task.exited.then((result) => {
      exited = true;
      return result;
    });
    const started = await waitForJob(store, orchestrationId, jobId, (job) => job.checkpoint !== null);
    const beats = new Set<number>([started.heartbeatAt?.toMillis() ?? 0]);
    const outcomes: string[] = [];
    // While the job's loop is blocked, a replacement task keeps trying to take the job over.
    for (let round = 0; !exited; round++) {
      const claim = await takeOver(orchestrationId, jobId, `intruder-${round}`, heartbeatTimeoutMs);
      outcomes.push(claim.outcome);
      if (claim.outcome !== 'running-elsewhere') break;
      const job: JobDoc = claim.job;
      if (job.heartbeatAt) beats.add(job.heartbeatAt.toMillis());
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(await exit).toEqual({ code: 0, signal: null });
    expect(outcomes.length).toBeGreaterThanOrEqual(3);
    expect(outcomes.filter((outcome) => outcome !== 'running-elsewhere' && outcome !== 'terminal')).toEqual(
      [],
    );
    // Heartbeats went on during the 14 s block (about one a second once the watchdog has its client).
    expect(beats.size).toBeGreaterThanOrEqual(4);
    expect(await loadJob(store, orchestrationId, jobId)).toMatchObject({
      status: 'Completed',
      result: { blockedMs: 14_000 },
      attempt: 1,
    });
  });
});

describe('a task of a cancelled job', () => {
  it('exits 0 when it finds its job already Cancelled, so Cloud Run does not retry it', async () => {
    await harness.pubsub.createTopic(DEFAULTS.topic).catch(() => undefined);
    const { orchestrationId, jobId, request } = await kickOff('add_numbers', { a: 1, b: 2 });
    await harness.orchestrations.cancel(orchestrationId);
    const before = await loadJob(store, orchestrationId, jobId);
    expect(before.status).toBe('Cancelled');
    const task = spawn(request);
    expect(await task.exited).toEqual({ code: 0, signal: null });
    const after = await loadJob(store, orchestrationId, jobId);
    expect(after.updatedAt.toMillis()).toBe(before.updatedAt.toMillis());
    expect(task.output()).toMatch(/already ended Cancelled/);
  });
});

describe('a task whose JOB_NAME is not its job’s', () => {
  it('refuses a Pending job before claiming it: typed error, exit 2, the job ends Errored and unclaimed', async () => {
    const { orchestrationId, jobId, request } = await kickOff('add_numbers', { a: 1, b: 2 });
    const task = spawn(request, { JOB_NAME: 'always_fails' });
    expect((await task.exited).code).toBe(2);
    const job = await loadJob(store, orchestrationId, jobId);
    expect(job).toMatchObject({
      status: 'Errored',
      attempt: 0,
      claim: null,
      deadLettered: false,
      error: { code: 'E11_JOB_NAME_MISMATCH', retryable: false, jobName: 'add_numbers' },
    });
    expect(job.error?.message).toMatch(/JOB_NAME is 'always_fails' but job .* belongs to 'add_numbers'/);
    const errors = task.logLines().filter((line) => line.severity === 'ERROR');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'E11_JOB_NAME_MISMATCH' });
  });

  it('refuses a Completed job with the same typed error and exit 2, and leaves it untouched', async () => {
    const { orchestrationId, jobId, request } = await kickOff('add_numbers', { a: 2, b: 3 });
    expect((await spawn(request).exited).code).toBe(0);
    const before = await loadJob(store, orchestrationId, jobId);
    expect(before.status).toBe('Completed');
    const task = spawn(request, { JOB_NAME: 'always_fails' });
    expect((await task.exited).code).toBe(2);
    const after = await loadJob(store, orchestrationId, jobId);
    expect(after).toEqual(before);
    const errors = task.logLines().filter((line) => line.severity === 'ERROR');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'E11_JOB_NAME_MISMATCH' });
    expect(task.output()).not.toMatch(/already ended/);
  });
});
