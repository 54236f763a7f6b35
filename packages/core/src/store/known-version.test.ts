import { randomUUID } from 'node:crypto';

import { afterAll, describe, expect, inject, it } from 'vitest';
import {
  cancelJob,
  claimJob,
  completeJob,
  createFirestore,
  createStore,
  defaultJobPolicy,
  ErrorCode,
  jobIdFor,
  type JobVersion,
  loadJob,
  readCounts,
  recordJobExecution,
  recordProgress,
  registerOrchestration,
} from '@e11/core';

// The fenced writes of a task that knows its job's version (the claim's write time) read nothing; these
// tests check that they stay fenced when someone else wrote in between.
const firestore = createFirestore({
  projectId: `known-version-${randomUUID().slice(0, 8)}`,
  emulatorHost: inject('firestoreHost'),
});
const store = createStore({ firestore });
afterAll(() => firestore.terminate());

async function register(total: number) {
  const id = randomUUID();
  await registerOrchestration(store, {
    orchestration: {
      id,
      jobName: 'sum_chunk',
      service: 'sum-chunk',
      tags: {},
      tenant: null,
      topic: 'e11-job-completed',
      mode: 'array',
      policy: defaultJobPolicy(),
      idempotencyKey: null,
      sensitiveKeys: [],
      deadlineAt: null,
    },
    params: Array.from({ length: total }, (_, index) => ({ index })),
  });
  return { id, jobIds: Array.from({ length: total }, (_, index) => jobIdFor(id, index)) };
}

const claimOf = (id: string) => ({ id, executionName: null, taskIndex: null, taskAttempt: null });

async function claimed(orchestrationId: string, jobId: string, claimId: string, createFirst = false) {
  const claim = await claimJob(store, {
    orchestrationId,
    jobId,
    claim: claimOf(claimId),
    maxAttempts: 3,
    heartbeatTimeoutMs: 60_000,
    createFirst,
  });
  expect(claim.outcome).toBe('claimed');
  expect(claim.version).toBeDefined();
  const version: JobVersion = { current: claim.version };
  return { owned: { orchestrationId, jobId, claimId, version }, version };
}

describe('writes fenced on a known job version', () => {
  it('complete a claimed job with the claim’s version, then forget it', async () => {
    const { id, jobIds } = await register(2);
    const { owned, version } = await claimed(id, jobIds[0] as string, 'c1', true);
    expect(await recordProgress(store, owned, 0.5, 'half')).toBe('recorded');
    expect(version.current?.job.progress).toMatchObject({ ratio: 0.5, message: 'half' });
    expect(await completeJob(store, { ...owned, result: { ok: true } })).toBe('recorded');
    const job = await loadJob(store, id, jobIds[0] as string);
    expect(job).toMatchObject({
      status: 'Completed',
      result: { ok: true },
      progress: { ratio: 1, message: 'half' },
    });
    expect(await readCounts(store, id)).toMatchObject({ pending: 1, completed: 1, inProgress: 0 });
  });

  it('do not overwrite a cancel committed after the version: the completion is lost', async () => {
    const { id, jobIds } = await register(1);
    const jobId = jobIds[0] as string;
    const { owned } = await claimed(id, jobId, 'c1');
    const error = {
      message: 'stop',
      code: ErrorCode.Cancelled,
      name: null,
      stack: null,
      jobName: 'sum_chunk',
    };
    await cancelJob(store, {
      orchestrationId: id,
      jobId,
      error: { ...error, orchestrationId: id, retryable: false },
    });
    expect(await completeJob(store, { ...owned, result: 1 })).toBe('lost');
    expect((await loadJob(store, id, jobId)).status).toBe('Cancelled');
    expect(await readCounts(store, id)).toMatchObject({ cancelled: 1, completed: 0, inProgress: 0 });
  });

  it('do not overwrite a takeover: the old owner’s progress and completion are lost', async () => {
    const { id, jobIds } = await register(1);
    const jobId = jobIds[0] as string;
    const { owned } = await claimed(id, jobId, 'old');
    // A replacement takes the job over (with a timeout below zero every heartbeat is stale).
    const takeover = await claimJob(store, {
      orchestrationId: id,
      jobId,
      claim: claimOf('new'),
      maxAttempts: 3,
      heartbeatTimeoutMs: -1,
    });
    expect(takeover).toMatchObject({ outcome: 'claimed', takeover: true });
    expect(await recordProgress(store, owned, 0.9, 'old owner')).toBe('lost');
    expect(await completeJob(store, { ...owned, result: 'old' })).toBe('lost');
    expect(await loadJob(store, id, jobId)).toMatchObject({ status: 'InProgress', claim: { id: 'new' } });
  });

  it('still record when another writer only recorded a launch: the write reads and goes through', async () => {
    const { id, jobIds } = await register(1);
    const jobId = jobIds[0] as string;
    const { owned, version } = await claimed(id, jobId, 'c1');
    await recordJobExecution(store, { orchestrationId: id, jobId }, 'exec-late', {
      unwritten: () => Promise.resolve(undefined),
      createFirst: false,
    });
    expect(await recordProgress(store, owned, 0.25, null)).toBe('recorded');
    expect(version.current).toBeUndefined();
    expect(await completeJob(store, { ...owned, result: 2 })).toBe('recorded');
    expect(await loadJob(store, id, jobId)).toMatchObject({
      status: 'Completed',
      executionName: 'exec-late',
      launches: 1,
    });
  });

  it('claim a job that already has a document when asked to create it first', async () => {
    const { id, jobIds } = await register(1);
    const jobId = jobIds[0] as string;
    await recordJobExecution(store, { orchestrationId: id, jobId }, 'exec-1', {
      unwritten: async () => {
        const job = await loadJob(store, id, jobId);
        return job as never;
      },
      createFirst: true,
    });
    const { owned } = await claimed(id, jobId, 'c1', true);
    expect(await completeJob(store, { ...owned, result: 3 })).toBe('recorded');
    expect(await loadJob(store, id, jobId)).toMatchObject({ status: 'Completed', executionName: 'exec-1' });
    expect(await readCounts(store, id)).toMatchObject({ pending: 0, completed: 1 });
  });
});
