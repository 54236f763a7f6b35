import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { readLedger } from './helpers/ledger.js';
import { eventWithin, useRunnerStack } from './helpers/runner-stack.js';

const suite = useRunnerStack('failure-policies', {
  cloudRunJobs: ['ledgered'],
  cloudRunOptions: { maxConcurrentTasks: 12 },
});
const dir = mkdtempSync(join(tmpdir(), 'e11-failure-policies-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The executions Cloud Run started for `orchestrationId`. */
function executionsOf(orchestrationId: string) {
  return suite.stack.cloudRun
    .listExecutions()
    .filter((execution) => execution.env.ORCHESTRATION_ID === orchestrationId);
}

describe('failure policies on the local stack', () => {
  it('maxFailures: 5 on 200 jobs, 20 of them failing, stops launching after the sixth failure and ends Errored', async () => {
    const ledger = join(dir, 'fail-fast.txt');
    // Every tenth job fails for good: the sixth failure is job 59's.
    const params = Array.from({ length: 200 }, (_, index) => ({
      ledger,
      ms: 50,
      index,
      fail: index % 10 === 9,
    }));
    const { orchestrationId } = await suite.service.kickOffJob('ledgered', params, {
      maxParallel: 10,
      maxFailures: 5,
    });
    const event = await eventWithin(suite, orchestrationId, 120_000);
    expect(event).toMatchObject({ status: 'Errored', reason: 'maxFailures' });
    expect(event.failed).toBeGreaterThanOrEqual(6);
    expect(event.succeeded + event.failed + event.cancelled).toBe(200);
    expect(event.cancelled).toBeGreaterThan(0);
    // Launching stopped: past the sixth failure, at most the jobs admitted while it ran (maxParallel).
    const launched = executionsOf(orchestrationId).length;
    expect(launched).toBeLessThanOrEqual(60 + 10);
    const { starts } = readLedger(ledger);
    expect([...starts.values()].every((count) => count === 1)).toBe(true);
    expect(await suite.service.getOrchestration(orchestrationId)).toMatchObject({
      status: 'Errored',
      endReason: 'maxFailures',
      maxFailures: 5,
    });
  }, 180_000);

  it('successPolicy: ends Completed once 10 of 40 jobs succeeded, cancelling the rest', async () => {
    const ledger = join(dir, 'success.txt');
    const params = Array.from({ length: 40 }, (_, index) => ({ ledger, ms: 200, index }));
    const { orchestrationId } = await suite.service.kickOffJob('ledgered', params, {
      maxParallel: 4,
      successPolicy: { succeeded: 10 },
    });
    const event = await eventWithin(suite, orchestrationId, 120_000);
    expect(event).toMatchObject({ status: 'Completed', reason: 'successPolicy', failed: 0 });
    expect(event.succeeded).toBeGreaterThanOrEqual(10);
    expect(event.cancelled).toBeGreaterThan(0);
    expect(event.succeeded + event.cancelled).toBe(40);
    expect(executionsOf(orchestrationId).length).toBeLessThanOrEqual(10 + 4);
    expect(await suite.service.getOrchestration(orchestrationId)).toMatchObject({
      status: 'Completed',
      endReason: 'successPolicy',
      successNeeded: 10,
    });
  }, 180_000);

  it('retryFailed in array mode relaunches only the failed jobs, as one execution mapping its tasks to them', async () => {
    const ledger = join(dir, 'array-retry.txt');
    const failing = [3, 11, 12, 29, 38];
    const params = Array.from({ length: 40 }, (_, index) => ({
      ledger,
      ms: 10,
      index,
      fail: failing.includes(index),
    }));
    const { orchestrationId } = await suite.service.kickOffJob('ledgered', params, { mode: 'array' });
    expect(await eventWithin(suite, orchestrationId, 120_000)).toMatchObject({
      status: 'Errored',
      failed: 5,
    });
    writeFileSync(`${ledger}.heal`, '');
    const retried = await suite.service.retryFailed(orchestrationId);
    expect(retried.launch).toMatchObject({ launched: 5, requests: 1 });
    const [execution] = executionsOf(orchestrationId).slice(1);
    expect(execution?.taskCount).toBe(5);
    expect(await eventWithin(suite, orchestrationId, 60_000, 2)).toMatchObject({
      status: 'Completed',
      succeeded: 40,
      failed: 0,
    });
    // Each failed job ran once more, in the task mapped to it; the others never again.
    const { starts } = readLedger(ledger);
    for (let index = 0; index < 40; index++) expect(starts.get(index)).toBe(failing.includes(index) ? 2 : 1);
  }, 180_000);

  it('refuses a success count above the jobs, writing nothing', async () => {
    await expect(
      suite.service.kickOffJob('ledgered', [{ ledger: join(dir, 'none.txt'), ms: 1, index: 0 }], {
        successPolicy: { succeeded: 2 },
      }),
    ).rejects.toMatchObject({ code: 'E11_INVALID_OPTIONS', context: { path: 'successPolicy.succeeded' } });
  });
});
