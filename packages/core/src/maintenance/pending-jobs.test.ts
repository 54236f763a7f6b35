import { Timestamp } from '@google-cloud/firestore';
import { describe, expect, it } from 'vitest';

import type { ExecutionState } from '../launch/task-launcher.js';
import { defaultJobPolicy, type JobDoc, type OrchestrationDoc } from '../model/documents.js';
import { JobStatus } from '../model/status.js';

import { decidePending, type LaunchState, launchesOf } from './pending-jobs.js';

const NOW = 1_000_000_000;
const at = (ms: number) => Timestamp.fromMillis(ms);
const EXEC = (id: string) => `projects/p/locations/r/jobs/j/executions/${id}`;

function orchestration(patch: Partial<OrchestrationDoc> = {}): OrchestrationDoc {
  return {
    v: 1,
    id: 'o1',
    jobName: 'nightly_sync',
    service: 'nightly-sync',
    status: JobStatus.InProgress,
    total: 3,
    shardCount: 1,
    tags: {},
    tenant: null,
    topic: 't',
    mode: 'per-job',
    policy: defaultJobPolicy({ maxAttempts: 2 }),
    idempotencyKey: null,
    epoch: 1,
    counts: { pending: 3, inProgress: 0, completed: 0, errored: 0, cancelled: 0 },
    sensitiveKeys: [],
    registered: true,
    paramsChunkSize: 100,
    registrationToken: null,
    cancelRequested: false,
    paused: false,
    pausedAt: null,
    startAt: null,
    maxParallel: null,
    admitted: null,
    admittedAt: null,
    readmit: [],
    maxFailures: null,
    successNeeded: null,
    admissionToken: null,
    concurrencyKey: null,
    inFlightBudget: null,
    pipeline: null,
    resources: null,
    pricing: null,
    taskMillis: null,
    cancelReason: null,
    eventPending: false,
    eventRetryAt: null,
    executions: [],
    arrayLaunches: [],
    createdAt: at(NOW - 60_000),
    updatedAt: at(NOW - 60_000),
    launchedAt: at(NOW - 60_000),
    launchCompletedAt: at(NOW - 59_000),
    launchHeartbeatAt: null,
    completedAt: null,
    deadlineAt: null,
    traceparent: null,
    ...patch,
  };
}

function job(patch: Partial<JobDoc> = {}): JobDoc {
  return {
    v: 1,
    id: 'j1',
    orchestrationId: 'o1',
    jobName: 'nightly_sync',
    index: 1,
    shard: 0,
    epoch: 1,
    params: {},
    status: JobStatus.Pending,
    limited: false,
    concurrencyKey: null,
    inFlightBudget: null,
    earlyEnd: false,
    attempt: 0,
    launches: 0,
    launchDeferredAt: null,
    maxAttempts: null,
    attempts: [],
    attemptsDropped: { count: 0, epoch: 1, inEpoch: 0 },
    result: null,
    error: null,
    progress: null,
    checkpoint: null,
    claim: null,
    executionName: null,
    deadLettered: false,
    discarded: false,
    heartbeatAt: null,
    startedAt: null,
    finishedAt: null,
    traceparent: null,
    createdAt: at(NOW - 60_000),
    updatedAt: at(NOW - 60_000),
    ...patch,
  };
}

/** The launch state of `doc` with the executions in `executions` (missing: unknown to the launcher). */
function state(
  doc: OrchestrationDoc,
  executions: Record<string, ExecutionState | 'error'> | null,
  patch: Partial<LaunchState> = {},
): LaunchState {
  return {
    orchestration: doc,
    launcherGone: false,
    timeoutBeforeMs: NOW - 15 * 60_000,
    describe: (name) => Promise.resolve(executions?.[name]),
    canDescribe: executions !== null,
    ...patch,
  };
}

const running: ExecutionState = { done: false, succeeded: 0, failed: 0, cancelled: 0 };
const failed: ExecutionState = {
  done: true,
  succeeded: 0,
  failed: 1,
  cancelled: 0,
  message: 'Execution failed: 1 of 1 tasks failed.',
};

describe('decidePending', () => {
  it('leaves a job never launched in its epoch to its live launcher, and relaunches it once that died', async () => {
    const launching = orchestration({ launchCompletedAt: null, launchHeartbeatAt: at(NOW - 1_000) });
    const reopened = job({ epoch: 2, attempt: 1 });
    expect(await decidePending(state(launching, {}), reopened)).toEqual({ action: 'wait' });
    expect(await decidePending(state(launching, {}, { launcherGone: true }), reopened)).toEqual({
      action: 'relaunch',
    });
  });

  it('relaunches a never-launched job an admission handed over, beside a live admitter (maxParallel)', async () => {
    const admitting = orchestration({
      maxParallel: 2,
      admitted: 3,
      admittedAt: at(NOW - 1_000),
      launchHeartbeatAt: at(NOW - 1_000),
    });
    const admitted = job({ index: 2 });
    // Its admitter may still be launching it: the sweeper leaves it alone, even long after kick-off.
    expect(await decidePending(state(admitting, {}), admitted)).toEqual({ action: 'wait' });
    const handedOver = job({ index: 2, launchDeferredAt: at(NOW - 500) });
    expect(await decidePending(state(admitting, {}), handedOver)).toEqual({ action: 'relaunch' });
  });

  it('waits while the execution that may run the job is queued or running, or cannot be read', async () => {
    const launched = job({ launches: 1, executionName: EXEC('a') });
    expect(await decidePending(state(orchestration(), { [EXEC('a')]: running }), launched)).toEqual({
      action: 'wait',
    });
    expect(await decidePending(state(orchestration(), { [EXEC('a')]: 'error' }), launched)).toEqual({
      action: 'wait',
    });
  });

  it('relaunches a lost launch below the budget and dead-letters it at the budget, with Cloud Run’s message', async () => {
    const executions = { [EXEC('a')]: failed };
    expect(
      await decidePending(state(orchestration(), executions), job({ launches: 1, executionName: EXEC('a') })),
    ).toEqual({ action: 'relaunch' });
    const decision = await decidePending(
      state(orchestration(), executions),
      job({ launches: 2, executionName: EXEC('a') }),
    );
    expect(decision).toMatchObject({
      action: 'dead-letter',
      error: { code: 'E11_CRASHED', jobId: 'j1', retryable: false },
    });
    expect(decision.action === 'dead-letter' && decision.error.message).toBe(
      'Launched 2 time(s); no task claimed the job (the container failed before claiming it, or was lost). ' +
        'The last execution ended with: Execution failed: 1 of 1 tasks failed.',
    );
  });

  it('counts an array execution as one launch of each job in its range only', async () => {
    const array = orchestration({
      mode: 'array',
      executions: [EXEC('a'), EXEC('b')],
      arrayLaunches: [
        { executionName: EXEC('a'), first: 0, count: 3 },
        { executionName: EXEC('b'), first: 1, count: 1 },
      ],
    });
    expect([0, 1, 2].map((index) => launchesOf(array, job({ index })))).toEqual([1, 2, 1]);
    // Epoch 2 (reopened by retryFailed): only its own per-job launches count.
    expect(launchesOf(array, job({ index: 1, epoch: 2, launches: 1 }))).toBe(1);
    // Job 1 waits for execution b; job 0's only execution ended.
    const executions = { [EXEC('a')]: failed, [EXEC('b')]: running };
    expect(await decidePending(state(array, executions), job({ index: 1 }))).toEqual({ action: 'wait' });
    expect(await decidePending(state(array, executions), job({ index: 0 }))).toEqual({ action: 'relaunch' });
  });

  it('falls back on pendingTimeoutMs since the job’s last change without a way to describe executions', async () => {
    const fresh = job({ launches: 1, executionName: EXEC('a'), updatedAt: at(NOW - 60_000) });
    const old = job({ launches: 2, executionName: EXEC('a'), updatedAt: at(NOW - 16 * 60_000) });
    expect(await decidePending(state(orchestration(), null), fresh)).toEqual({ action: 'wait' });
    expect(await decidePending(state(orchestration(), null), old)).toMatchObject({ action: 'dead-letter' });
  });
});
