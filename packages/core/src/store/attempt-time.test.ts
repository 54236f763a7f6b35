import { randomUUID } from 'node:crypto';

import { afterAll, describe, expect, inject, it } from 'vitest';

import { createFirestore } from '../clients/firestore.js';
import { ErrorCode } from '../errors.js';
import { jobIdFor } from '../internal/ids.js';
import { defaultJobPolicy, type JobDoc } from '../model/documents.js';

import { cancelJob } from './cancel-job.js';
import { claimJob, crashedError } from './claim-job.js';
import { readShardTotals } from './counts.js';
import { completeJob, failJob, releaseJob } from './finish-job.js';
import { recordHeartbeat } from './job-activity.js';
import { loadJob } from './orchestration-docs.js';
import { recoverStaleJob } from './recover-job.js';
import { registerOrchestration } from './register-orchestration.js';
import { createStore } from './store.js';

// A clock the test moves by hand: every write's time is the one the test set.
let nowMs = 1_000_000;
const firestore = createFirestore({
  projectId: `attempt-time-${randomUUID().slice(0, 8)}`,
  emulatorHost: inject('firestoreHost'),
});
const store = createStore({ firestore, clock: { now: () => nowMs } });
afterAll(() => firestore.terminate());

async function register(total: number) {
  const id = randomUUID();
  const jobIds = Array.from({ length: total }, (_, index) => jobIdFor(id, index));
  await registerOrchestration(store, {
    orchestration: {
      id,
      jobName: 'timed',
      service: 'timed',
      tags: {},
      tenant: null,
      topic: 'e11-job-completed',
      mode: 'per-job',
      policy: defaultJobPolicy(),
      idempotencyKey: null,
      sensitiveKeys: [],
      deadlineAt: null,
    },
    params: jobIds.map((_, index) => ({ index })),
  });
  return { id, jobIds };
}

async function claim(orchestrationId: string, jobId: string, claimId: string) {
  const claimed = await claimJob(store, {
    orchestrationId,
    jobId,
    maxAttempts: 3,
    heartbeatTimeoutMs: 60_000,
    claim: { id: claimId, executionName: null, taskIndex: null, taskAttempt: null },
  });
  expect(claimed.outcome).toBe('claimed');
  return { orchestrationId, jobId, claimId };
}

const spans = (job: JobDoc) =>
  job.attempts.map((attempt) => (attempt.finishedAt?.toMillis() ?? NaN) - attempt.startedAt.toMillis());

describe('task time in the counter shards', () => {
  it('adds each attempt start to end: a completion, and both attempts of an in-task retry', async () => {
    const { id, jobIds } = await register(2);
    const [a, b] = jobIds as [string, string];
    nowMs = 2_000_000;
    const ownedA = await claim(id, a, 'a');
    nowMs += 2_500;
    expect(await completeJob(store, { ...ownedA, result: 1 })).toBe('recorded');

    nowMs = 3_000_000;
    const ownedB = await claim(id, b, 'b');
    nowMs += 1_200;
    const error = { ...crashedError(await loadJob(store, id, b), 'busy'), code: 'BUSY', attempt: 1 };
    const retry = { ...ownedB, error, outcome: 'Errored' as const, final: false, deadLettered: false };
    expect(await failJob(store, retry)).toBe('recorded');
    nowMs += 800;
    expect(await completeJob(store, { ...ownedB, result: 2 })).toBe('recorded');

    expect(spans(await loadJob(store, id, a))).toEqual([2_500]);
    expect(spans(await loadJob(store, id, b))).toEqual([1_200, 800]);
    expect((await readShardTotals(store, id)).taskMillis).toBe(4_500);
  });

  it('ends a dead attempt at its last heartbeat when the sweeper recovers it', async () => {
    const { id, jobIds } = await register(1);
    const jobId = jobIds[0] as string;
    nowMs = 5_000_000;
    const owned = await claim(id, jobId, 'dead');
    nowMs += 3_000;
    expect(await recordHeartbeat(store, owned)).toBe('recorded');
    nowMs += 600_000;
    const outcome = await recoverStaleJob(store, {
      orchestrationId: id,
      jobId,
      heartbeatTimeoutMs: 60_000,
      defaultMaxAttempts: 3,
    });
    expect(outcome).toBe('requeued');
    const job = await loadJob(store, id, jobId);
    expect(job.attempts[0]).toMatchObject({ outcome: 'Crashed' });
    expect(spans(job)).toEqual([3_000]);
    expect((await readShardTotals(store, id)).taskMillis).toBe(3_000);
  });

  it('adds a release for a Cloud Run retry, a takeover of a dead attempt (at its last heartbeat) and a final failure', async () => {
    const { id, jobIds } = await register(1);
    const jobId = jobIds[0] as string;
    nowMs = 9_000_000;
    const first = await claim(id, jobId, 'first');
    nowMs += 1_000;
    const failure = (attempt: number) => ({
      ...crashedError({ jobName: 'timed', orchestrationId: id, id: jobId, attempt }, 'stopped'),
      attempt,
    });
    expect(await releaseJob(store, { ...first, error: failure(1), outcome: 'Interrupted' })).toBe('recorded');
    nowMs += 1_000;
    const second = await claim(id, jobId, 'second');
    nowMs += 500;
    expect(await recordHeartbeat(store, second)).toBe('recorded');
    nowMs += 120_000;
    const third = await claim(id, jobId, 'third');
    nowMs += 300;
    const final = {
      ...third,
      error: failure(3),
      outcome: 'Errored' as const,
      final: true,
      deadLettered: true,
    };
    expect(await failJob(store, final)).toBe('recorded');

    const job = await loadJob(store, id, jobId);
    expect(job.attempts.map((attempt) => attempt.outcome)).toEqual(['Interrupted', 'Crashed', 'Errored']);
    expect(spans(job)).toEqual([1_000, 500, 300]);
    expect((await readShardTotals(store, id)).taskMillis).toBe(1_800);
  });

  it('ends a cancelled live attempt now, and counts nothing for a job that never started', async () => {
    const { id, jobIds } = await register(2);
    const [running, pending] = jobIds as [string, string];
    nowMs = 7_000_000;
    await claim(id, running, 'live');
    nowMs += 4_000;
    const error = {
      message: 'cancelled',
      code: ErrorCode.Cancelled,
      name: null,
      stack: null,
      jobName: 'timed',
      orchestrationId: id,
      retryable: false,
    };
    await cancelJob(store, { orchestrationId: id, jobId: running, error });
    await cancelJob(store, { orchestrationId: id, jobId: pending, error });
    expect(spans(await loadJob(store, id, running))).toEqual([4_000]);
    const totals = await readShardTotals(store, id);
    expect(totals.taskMillis).toBe(4_000);
    expect(totals.counts.cancelled).toBe(2);
  });
});
