import { randomUUID } from 'node:crypto';

import { afterAll, describe, expect, inject, it } from 'vitest';
import { createFirestore } from '../clients/firestore.js';
import { checkCompletion } from '../completion/check-completion.js';
import { type EventPublisher } from '../completion/event-publisher.js';
import { jobIdFor } from '../internal/ids.js';
import { defaultJobPolicy } from '../model/documents.js';
import { JobStatus } from '../model/status.js';
import { readAllJobs } from '../orchestration/results.js';
import { cancelJob } from './cancel-job.js';
import { claimJob } from './claim-job.js';
import { readCounts } from './counts.js';
import { failPendingJob } from './fail-pending-job.js';
import { completeJob, failJob, releaseJob } from './finish-job.js';
import { recordJobExecution } from './launch-records.js';
import { loadJob, loadOrchestration } from './orchestration-docs.js';
import {
  createOrchestrationDoc,
  type NewOrchestration,
  registerOrchestration,
} from './register-orchestration.js';
import { createStore } from './store.js';
import { isUnwrittenJob, type UnwrittenJob } from './unwritten-jobs.js';

const firestore = createFirestore({
  projectId: `store-${randomUUID().slice(0, 8)}`,
  emulatorHost: inject('firestoreHost'),
});
const store = createStore({ firestore });
afterAll(() => firestore.terminate());

const policy = defaultJobPolicy();

const orchestrationFields: Omit<NewOrchestration, 'id'> = {
  jobName: 'sum_chunk',
  service: 'sum-chunk',
  tags: { customerId: 'acme' },
  tenant: null,
  topic: 'e11-job-completed',
  mode: 'per-job',
  policy,
  idempotencyKey: null,
  sensitiveKeys: [],
  deadlineAt: null,
};

async function register(total: number) {
  const id = randomUUID();
  const jobIds = Array.from({ length: total }, (_, index) => jobIdFor(id, index));
  await registerOrchestration(store, {
    orchestration: { ...orchestrationFields, id },
    params: jobIds.map((_, index) => ({ index })),
  });
  return { id, jobIds };
}

function recordingPublisher(): EventPublisher & { sent: { topic: string; data: string }[] } {
  const sent: { topic: string; data: string }[] = [];
  return {
    sent,
    publish(topic, message) {
      sent.push({ topic, data: message.data.toString('utf8') });
      return Promise.resolve(String(sent.length));
    },
  };
}

/** The error a failed attempt of a `sum_chunk` job records. */
const jobError = (orchestrationId: string, jobId: string, attempt: number, retryable: boolean) => ({
  message: 'boom',
  code: 'E11_JOB_FAILED',
  name: 'Error',
  stack: null,
  jobName: 'sum_chunk',
  orchestrationId,
  jobId,
  attempt,
  retryable,
});

const claim = (claimId: string) => ({ id: claimId, executionName: null, taskIndex: null, taskAttempt: null });

describe('the Firestore store', () => {
  it('registers an orchestration with one pending job per parameter set and exact counts', async () => {
    const { id, jobIds } = await register(250);
    const orchestration = await loadOrchestration(store, id);
    expect(orchestration).toMatchObject({
      total: 250,
      shardCount: 3,
      registered: true,
      status: 'Pending',
      paramsChunkSize: 100,
    });
    // The params go in 3 chunk documents; no job has a document before its task claims it.
    const chunks = await store.collections.paramsChunks(id).get();
    expect(
      chunks.docs.map((doc) => [doc.id, doc.get('first') as number, (doc.get('params') as string[]).length]),
    ).toEqual([
      ['0', 0, 100],
      ['1', 100, 100],
      ['2', 200, 50],
    ]);
    expect((chunks.docs[2]?.get('params') as string[])[49]).toBe('{"index":249}');
    expect((await store.collections.jobs(id).count().get()).data().count).toBe(0);
    expect(await readCounts(store, id)).toEqual({
      pending: 250,
      inProgress: 0,
      completed: 0,
      errored: 0,
      cancelled: 0,
    });
    const job = await loadJob(store, id, jobIds[7] as string);
    expect(job).toMatchObject({ index: 7, params: { index: 7 }, status: 'Pending', attempt: 0 });
  });

  it('registers jobs whose params together exceed one commit request (12 × 800 kB)', async () => {
    const id = randomUUID();
    const params = Array.from({ length: 12 }, (_, index) => ({
      index,
      blob: `${index}:`.padEnd(800_000, 'x'),
    }));
    await registerOrchestration(store, { orchestration: { ...orchestrationFields, id }, params });
    expect(await loadOrchestration(store, id)).toMatchObject({
      total: 12,
      registered: true,
      paramsChunkSize: 1,
    });
    const last = await loadJob(store, id, jobIdFor(id, 11));
    expect(last.params).toEqual(params[11]);
    expect((await store.collections.paramsChunks(id).count().get()).data().count).toBe(12);
  });

  it('removes a failed registration whole: no job written by a batch still in flight survives', async () => {
    const id = randomUUID();
    // 2,500 jobs = 5 batches, 4 in flight; the first batch fails (a document over 1 MiB).
    const params = Array.from({ length: 2_500 }, (_, index) => ({ index }));
    params[3] = { index: 3, blob: 'x'.repeat(1_100_000) } as { index: number };
    await expect(
      registerOrchestration(store, { orchestration: { ...orchestrationFields, id }, params }),
    ).rejects.toMatchObject({ code: 'E11_REGISTRATION_FAILED', context: { orchestrationId: id } });
    expect((await store.collections.orchestration(id).get()).exists).toBe(false);
    expect((await store.collections.paramsChunks(id).count().get()).data().count).toBe(0);
    expect((await store.collections.counters(id).count().get()).data().count).toBe(0);
  });

  it("tells its own orchestration document from another kick-off's when the create is answered ALREADY_EXISTS", async () => {
    // As after a commit that was applied but answered with an error, and tried again by the client.
    const { id } = await register(1);
    const ref = store.collections.orchestration(id);
    const stored = await loadOrchestration(store, id);
    expect(stored.registrationToken).toMatch(/^[0-9a-f-]{36}$/);
    expect(await createOrchestrationDoc(ref, stored)).toBe(true);
    expect(await createOrchestrationDoc(ref, { ...stored, registrationToken: randomUUID() })).toBe(false);
    const fresh = store.collections.orchestration(randomUUID());
    expect(await createOrchestrationDoc(fresh, { ...stored, id: fresh.id })).toBe(true);
    expect((await fresh.get()).get('registrationToken')).toBe(stored.registrationToken);
  });

  it('reads a job with no document from its params chunk, and writes its document at the claim', async () => {
    const { id, jobIds } = await register(3);
    const jobId = jobIds[2] as string;
    expect((await store.collections.job(id, jobId).get()).exists).toBe(false);
    expect(await loadJob(store, id, jobId)).toMatchObject({
      status: 'Pending',
      params: { index: 2 },
      v: 1,
      id: jobId,
      orchestrationId: id,
      jobName: 'sum_chunk',
      index: 2,
      epoch: 1,
      attempt: 0,
      attempts: [],
      claim: null,
    });

    // Once claimed, the attempt is stored and read back from the document, not from the default.
    const claimed = await claimJob(store, {
      orchestrationId: id,
      jobId,
      claim: claim('c-1'),
      maxAttempts: 3,
      heartbeatTimeoutMs: 60_000,
    });
    expect(claimed.outcome).toBe('claimed');
    const stored = (await store.collections.job(id, jobId).get()).data() ?? {};
    expect(stored).toMatchObject({
      attempt: 1,
      status: 'InProgress',
      index: 2,
      shard: 0,
      params: '{"index":2}',
    });
    expect(Object.keys(stored)).not.toContain('id');
    expect(await readCounts(store, id)).toMatchObject({ pending: 2, inProgress: 1 });
    expect(await loadJob(store, id, jobId)).toMatchObject({ id: jobId, orchestrationId: id, attempt: 1 });
  });

  it('reads params stored as a map (by earlier versions) and names params in a corrupt document', async () => {
    const { id, jobIds } = await register(2);
    const [mapJob, corruptJob] = jobIds as [string, string];
    for (const jobId of jobIds) {
      await claimJob(store, {
        orchestrationId: id,
        jobId,
        claim: claim(jobId),
        maxAttempts: 1,
        heartbeatTimeoutMs: 60_000,
      });
    }
    await store.collections.job(id, mapJob).update({ params: { month: '2026-07', ids: [1, 2] } });
    expect((await loadJob(store, id, mapJob)).params).toEqual({ month: '2026-07', ids: [1, 2] });
    await store.collections.job(id, corruptJob).update({ params: '{"index":' });
    await expect(loadJob(store, id, corruptJob)).rejects.toMatchObject({
      code: 'E11_CORRUPT_DOCUMENT',
      context: { path: 'params' },
    });
  });

  it('claims a job once: a second claim under a live heartbeat is refused, a finished job is not rerun', async () => {
    const { id, jobIds } = await register(1);
    const jobId = jobIds[0] as string;
    const request = { orchestrationId: id, jobId, maxAttempts: 3, heartbeatTimeoutMs: 60_000 };
    const first = await claimJob(store, { ...request, claim: claim('a') });
    expect(first).toMatchObject({ outcome: 'claimed', attempt: 1, takeover: false });
    const second = await claimJob(store, { ...request, claim: claim('b') });
    expect(second.outcome).toBe('running-elsewhere');
    expect(await completeJob(store, { orchestrationId: id, jobId, claimId: 'b', result: 1 })).toBe('lost');
    expect(await completeJob(store, { orchestrationId: id, jobId, claimId: 'a', result: { sum: 3 } })).toBe(
      'recorded',
    );
    const third = await claimJob(store, { ...request, claim: claim('c') });
    expect(third.outcome).toBe('terminal');
    const job = await loadJob(store, id, jobId);
    expect(job).toMatchObject({ status: JobStatus.Completed, result: { sum: 3 }, attempt: 1 });
    expect(job.attempts).toHaveLength(1);
    expect(job.attempts[0]).toMatchObject({ outcome: 'Completed' });
    expect(await readCounts(store, id)).toEqual({
      pending: 0,
      inProgress: 0,
      completed: 1,
      errored: 0,
      cancelled: 0,
    });
  });

  it('records a retried task write once when its first commit went through and the answer was lost', async () => {
    // What persist() does after an UNKNOWN or CANCELLED answer to an applied commit: the same write again.
    const { id, jobIds } = await register(1);
    const jobId = jobIds[0] as string;
    const base = { orchestrationId: id, jobId, maxAttempts: 5, heartbeatTimeoutMs: 60_000 };
    await claimJob(store, { ...base, claim: claim('a') });
    const error = (attempt: number) => jobError(id, jobId, attempt, true);
    const retryWrite = { orchestrationId: id, jobId, claimId: 'a', outcome: 'Errored' as const };
    const next = { ...retryWrite, error: error(1), final: false, deadLettered: false };
    expect(await failJob(store, next)).toBe('recorded');
    expect(await failJob(store, next)).toBe('recorded');
    let job = await loadJob(store, id, jobId);
    expect(job).toMatchObject({ status: 'InProgress', attempt: 2 });
    expect(job.attempts.map((a) => [a.attempt, a.outcome])).toEqual([
      [1, 'Errored'],
      [2, null],
    ]);

    const release = { ...retryWrite, error: error(2), outcome: 'Interrupted' as const };
    expect(await releaseJob(store, release)).toBe('recorded');
    expect(await releaseJob(store, release)).toBe('recorded');
    job = await loadJob(store, id, jobId);
    expect(job).toMatchObject({ status: 'Pending', attempt: 2, claim: null });
    expect(job.attempts.map((a) => [a.attempt, a.outcome])).toEqual([
      [1, 'Errored'],
      [2, 'Interrupted'],
    ]);
    // Once another task claimed the job, the old claim's release is lost, not recorded.
    await claimJob(store, { ...base, claim: claim('b') });
    expect(await releaseJob(store, release)).toBe('lost');
  });

  it('lets a Cloud Run retry of the same task take over a dead attempt', async () => {
    const { id, jobIds } = await register(1);
    const jobId = jobIds[0] as string;
    const base = { orchestrationId: id, jobId, maxAttempts: 3, heartbeatTimeoutMs: 60_000 };
    const task = { executionName: 'exec-1', taskIndex: 0 };
    await claimJob(store, { ...base, claim: { id: 'a', ...task, taskAttempt: 0 } });
    const retry = await claimJob(store, { ...base, claim: { id: 'b', ...task, taskAttempt: 1 } });
    expect(retry).toMatchObject({ outcome: 'claimed', attempt: 2, takeover: true });
    const job = await loadJob(store, id, jobId);
    expect(job.attempts.map((a) => a.outcome)).toEqual(['Crashed', null]);
    expect(await readCounts(store, id)).toMatchObject({ inProgress: 1, pending: 0 });
  });

  it('publishes exactly one completion event when the last jobs finish concurrently', async () => {
    const { id, jobIds } = await register(20);
    await Promise.all(
      jobIds.map(async (jobId, index) => {
        await claimJob(store, {
          orchestrationId: id,
          jobId,
          maxAttempts: 1,
          heartbeatTimeoutMs: 60_000,
          claim: claim(jobId),
        });
        if (index % 5 === 0) {
          await failJob(store, {
            orchestrationId: id,
            jobId,
            claimId: jobId,
            outcome: 'Errored',
            final: true,
            deadLettered: true,
            error: jobError(id, jobId, 1, false),
          });
        } else {
          await completeJob(store, { orchestrationId: id, jobId, claimId: jobId, result: index });
        }
      }),
    );
    const publisher = recordingPublisher();
    const checks = await Promise.all(
      Array.from({ length: 8 }, () => checkCompletion({ store, publisher }, id)),
    );
    expect(checks.filter((check) => check.outcome === 'published')).toHaveLength(1);
    expect(publisher.sent).toHaveLength(1);
    const event = JSON.parse(publisher.sent[0]?.data ?? '{}') as Record<string, unknown>;
    expect(event).toMatchObject({
      orchestrationId: id,
      status: 'Errored',
      total: 20,
      succeeded: 16,
      failed: 4,
      tags: { customerId: 'acme' },
    });
    expect(await loadOrchestration(store, id)).toMatchObject({
      status: 'Errored',
      counts: { completed: 16, errored: 4 },
    });
  });

  it('names the params in a corrupt params chunk', async () => {
    const { id, jobIds } = await register(2);
    await store.collections.paramsChunk(id, 0).update({ params: ['{"index":0}', '{"index":'] });
    expect((await loadJob(store, id, jobIds[0] as string)).params).toEqual({ index: 0 });
    await expect(loadJob(store, id, jobIds[1] as string)).rejects.toMatchObject({
      code: 'E11_CORRUPT_DOCUMENT',
      context: { path: 'params', document: store.collections.paramsChunk(id, 0).path },
    });
  });

  it('claims a job with no document once when two tasks race for it', async () => {
    const { id, jobIds } = await register(1);
    const request = {
      orchestrationId: id,
      jobId: jobIds[0] as string,
      maxAttempts: 3,
      heartbeatTimeoutMs: 60_000,
    };
    const outcomes = await Promise.all(
      ['a', 'b', 'c'].map(
        async (claimId) => (await claimJob(store, { ...request, claim: claim(claimId) })).outcome,
      ),
    );
    expect(outcomes.sort()).toEqual(['claimed', 'running-elsewhere', 'running-elsewhere']);
    expect(await readCounts(store, id)).toMatchObject({ pending: 0, inProgress: 1 });
    expect((await loadJob(store, id, request.jobId)).attempts).toHaveLength(1);
  });

  it('ends jobs with no document (launch failure, cancel) by writing it, counted once', async () => {
    const { id, jobIds } = await register(3);
    const [failed, cancelled, claimed] = jobIds as [string, string, string];
    const error = {
      message: 'launch failed',
      code: 'E11_LAUNCH_FAILED',
      name: null,
      stack: null,
      jobName: 'sum_chunk',
      orchestrationId: id,
      jobId: failed,
      attempt: 0,
      retryable: false,
    };
    // As a launch that read the job from its chunk passes it (no second chunk read).
    const known = await loadJob(store, id, failed);
    expect(await failPendingJob(store, { orchestrationId: id, jobId: failed, known, error })).toBe(true);
    expect(await failPendingJob(store, { orchestrationId: id, jobId: failed, error })).toBe(false);
    expect(
      await cancelJob(store, {
        orchestrationId: id,
        jobId: cancelled,
        error: { ...error, code: 'E11_CANCELLED' },
      }),
    ).toMatchObject({
      status: 'Pending',
      index: 1,
    });
    await claimJob(store, {
      orchestrationId: id,
      jobId: claimed,
      claim: claim('x'),
      maxAttempts: 1,
      heartbeatTimeoutMs: 60_000,
    });
    expect((await store.collections.job(id, failed).get()).data()).toMatchObject({
      status: 'Errored',
      params: '{"index":0}',
    });
    expect((await store.collections.job(id, cancelled).get()).data()).toMatchObject({
      status: 'Cancelled',
      index: 1,
    });
    expect(await readCounts(store, id)).toEqual({
      pending: 0,
      inProgress: 1,
      completed: 0,
      errored: 1,
      cancelled: 1,
    });
  });

  it('lists jobs with and without documents together, in index order', async () => {
    const { id, jobIds } = await register(250);
    for (const index of [3, 120, 249]) {
      await claimJob(store, {
        orchestrationId: id,
        jobId: jobIds[index] as string,
        claim: claim(`c${index}`),
        maxAttempts: 1,
        heartbeatTimeoutMs: 60_000,
      });
    }
    const all = await readAllJobs(store, id);
    expect(all.map((job) => job.index)).toEqual(Array.from({ length: 250 }, (_, index) => index));
    expect(all.filter((job) => job.status === 'InProgress').map((job) => job.index)).toEqual([3, 120, 249]);
    const pending = await readAllJobs(store, id, 'Pending');
    expect(pending).toHaveLength(247);
    expect(pending.map((job) => job.id)).not.toContain(jobIds[120]);
    expect((await readAllJobs(store, id, 'InProgress')).map((job) => job.id)).toEqual(
      [3, 120, 249].map((i) => jobIds[i]),
    );
  });

  it('records a launched execution on a job with or without a document, never touching its status', async () => {
    const { id, jobIds } = await register(3);
    const [fresh, claimedFirst, relaunched] = jobIds as [string, string, string];
    const unwritten = (jobId: string) => async () => {
      const job = await loadJob(store, id, jobId);
      return isUnwrittenJob(job) ? job : undefined;
    };
    const ownerOf = async (jobId: string) => (await store.collections.job(id, jobId).get()).data();

    // A kick-off's launch: the job has no document yet, so it gets one, still Pending.
    await recordJobExecution(store, { orchestrationId: id, jobId: fresh }, 'exec-a', {
      unwritten: unwritten(fresh),
      createFirst: true,
    });
    expect(await ownerOf(fresh)).toMatchObject({
      status: 'Pending',
      executionName: 'exec-a',
      params: '{"index":0}',
    });

    // Its task claimed the job before the launch answered: the create fails, the update records it.
    const before = (await loadJob(store, id, claimedFirst)) as UnwrittenJob;
    await claimJob(store, {
      orchestrationId: id,
      jobId: claimedFirst,
      claim: claim('t'),
      maxAttempts: 1,
      heartbeatTimeoutMs: 60_000,
    });
    await recordJobExecution(store, { orchestrationId: id, jobId: claimedFirst }, 'exec-b', {
      unwritten: () => Promise.resolve(before),
      createFirst: true,
    });
    expect(await ownerOf(claimedFirst)).toMatchObject({
      status: 'InProgress',
      attempt: 1,
      executionName: 'exec-b',
    });

    // A relaunch updates first; a job that still has no document gets one.
    await recordJobExecution(store, { orchestrationId: id, jobId: relaunched }, 'exec-c', {
      unwritten: unwritten(relaunched),
      createFirst: false,
    });
    expect(await ownerOf(relaunched)).toMatchObject({ status: 'Pending', executionName: 'exec-c' });
    expect(await readCounts(store, id)).toMatchObject({ pending: 2, inProgress: 1 });
  });
});
