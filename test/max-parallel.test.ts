import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { parseJobDocument } from '@e11/core';
import { type RouteFaults, setBridgeRoute } from '@e11/emulators';
import { afterAll, describe, expect, it } from 'vitest';

import { spawnBackend } from './helpers/backend-process.js';
import { readLedger } from './helpers/ledger.js';
import { storeFor } from './helpers/project.js';
import { eventWithin, useRunnerStack } from './helpers/runner-stack.js';
import { waitForSnapshot } from './helpers/wait-for.js';

const suite = useRunnerStack('max-parallel', {
  cloudRunJobs: ['ledgered'],
  // Room for more tasks at once than maxParallel: the limit is E11's, not the emulator's.
  cloudRunOptions: { maxConcurrentTasks: 14 },
  // The sweeps the tests run end an orchestration whose trigger was lost 5 s after its last job write
  // (30 s by default, a margin for a trigger running late; here every trigger is either on time or
  // dropped on purpose), so the test of lost triggers waits 5 s for its event, not 30.
  sweepOptions: { completionGraceMs: 5_000 },
});
const dir = mkdtempSync(join(tmpdir(), 'e11-max-parallel-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `fn` while the trigger's deliveries have `faults`; the route is restored after. */
async function withRouteFaults(faults: RouteFaults, fn: () => Promise<void>): Promise<void> {
  const route = {
    projectId: suite.projectId,
    triggerId: suite.stack.trigger.triggerId,
    target: suite.stack.functions.url,
  };
  await setBridgeRoute(suite.stack.bridgeUrl, { ...route, faults });
  try {
    await fn();
  } finally {
    await setBridgeRoute(suite.stack.bridgeUrl, route);
  }
}

/**
 * Kicks off `jobs` short ledgered jobs with `maxParallel` through the file's service and checks, once
 * their event came, that no more than `maxParallel` ran at once and each ran once. Returns the id.
 */
async function runLedgered(name: string, jobs: number, maxParallel: number): Promise<string> {
  const ledger = join(dir, `ledger-${name}.txt`);
  const params = Array.from({ length: jobs }, (_, index) => ({ ledger, ms: 50, index }));
  const { orchestrationId } = await suite.service.kickOffJob('ledgered', params, { maxParallel });
  expect(await eventWithin(suite, orchestrationId, 120_000)).toMatchObject({
    status: 'Completed',
    succeeded: jobs,
  });
  const { most, starts } = readLedger(ledger);
  expect(most).toBeLessThanOrEqual(maxParallel);
  expect([...starts.values()]).toEqual(Array.from({ length: jobs }, () => 1));
  return orchestrationId;
}

describe('maxParallel on the local stack', () => {
  // 100 jobs at 10: kickOffJob launches the first 10, the completion function admits the other 90 from
  // job ends (nine rounds, many ends at once), with the backend gone. That is the claim; 300 jobs (29
  // rounds) proved nothing more and cost 200 more task processes, about two minutes on two cores.
  it('runs 100 jobs never more than 10 at once, launching the rest from job ends after the backend was SIGKILLed', async () => {
    const ledger = join(dir, 'ledger-100.txt');
    const backend = spawnBackend(
      `import { OrchestrationService } from '@e11/sdk';
         // A burst above 10: kickOffJob returns once the first 10 (the admitted ones) went.
         const service = new OrchestrationService({ defaultTopic: '${suite.base.defaultTopic}', launch: { ratePerMinute: 6000 } });
         const params = Array.from({ length: 100 }, (_, index) => ({ ledger: ${JSON.stringify(ledger)}, ms: 150, index }));
         const result = await service.kickOffJob('ledgered', params, { maxParallel: 10 });
         process.stdout.write('KICKED ' + JSON.stringify({ id: result.orchestrationId, launched: result.launch.launched, waiting: result.waiting }) + '\\n');
         await new Promise(() => {});`,
      { ...suite.stack.env, E11_LOG_LEVEL: 'warn' },
    );
    let kicked: { id: string; launched: number; waiting: number };
    try {
      kicked = JSON.parse(await backend.line('KICKED ')) as typeof kicked;
    } finally {
      // Right after kickOffJob returned: every later launch is the completion function's (or the sweeper's).
      await backend.kill();
    }
    expect(kicked).toMatchObject({ launched: 10, waiting: 90 });

    const event = await eventWithin(suite, kicked.id, 240_000);
    expect(event).toMatchObject({ status: 'Completed', total: 100, succeeded: 100, failed: 0 });
    const { most, starts } = readLedger(ledger);
    expect(most).toBeLessThanOrEqual(10);
    // The limit was reached, not avoided by running jobs one by one.
    expect(most).toBeGreaterThan(1);
    // Every job ran once: each launched exactly once, none twice.
    expect(starts.size).toBe(100);
    expect([...starts.values()].every((count) => count === 1)).toBe(true);
    const executions = suite.stack.cloudRun
      .listExecutions()
      .filter((execution) => execution.env.ORCHESTRATION_ID === kicked.id);
    expect(executions).toHaveLength(100);
    await suite.stack.trigger.waitForIdle({ timeoutMs: 30_000 });
    expect(suite.completed.events.filter((e) => e.orchestrationId === kicked.id)).toHaveLength(1);
  }, 300_000);

  it('runs an array-mode orchestration in executions of at most maxParallel tasks, never more at once', async () => {
    const ledger = join(dir, 'ledger-array.txt');
    const params = Array.from({ length: 24 }, (_, index) => ({ ledger, ms: 100, index }));
    const { orchestrationId, launch, waiting } = await suite.service.kickOffJob('ledgered', params, {
      mode: 'array',
      maxParallel: 4,
    });
    expect(launch).toMatchObject({ launched: 4 });
    expect(waiting).toBe(20);
    const event = await eventWithin(suite, orchestrationId, 120_000);
    expect(event).toMatchObject({ status: 'Completed', succeeded: 24 });
    const { most, starts } = readLedger(ledger);
    expect(most).toBeLessThanOrEqual(4);
    expect(starts.size).toBe(24);
    const executions = suite.stack.cloudRun
      .listExecutions()
      .filter((execution) => execution.env.ORCHESTRATION_ID === orchestrationId);
    expect(executions.length).toBeGreaterThan(1);
    for (const execution of executions) expect(execution.taskCount).toBeLessThanOrEqual(4);
    expect(executions.reduce((sum, execution) => sum + execution.taskCount, 0)).toBe(24);
  }, 180_000);

  it('launches each job once under duplicated, reordered trigger deliveries', async () => {
    await withRouteFaults({ duplicate: 3, shuffle: { maxDelayMs: 200 } }, async () => {
      const orchestrationId = await runLedgered('duplicates', 30, 5);
      const perJob = new Map<string, number>();
      for (const execution of suite.stack.cloudRun.listExecutions()) {
        if (execution.env.ORCHESTRATION_ID !== orchestrationId) continue;
        const jobId = execution.env.JOB_ID ?? '';
        perJob.set(jobId, (perJob.get(jobId) ?? 0) + 1);
      }
      expect(perJob.size).toBe(30);
      expect([...perJob.values()].every((count) => count === 1)).toBe(true);
      expect(await suite.stack.trigger.waitForIdle({ timeoutMs: 30_000 })).toMatchObject({ failed: 0 });
      expect(suite.completed.events.filter((e) => e.orchestrationId === orchestrationId)).toHaveLength(1);
    });
  }, 180_000);

  it('admits and launches the next jobs from the sweeper when every trigger delivery is lost', async () => {
    // Like an Eventarc trigger that failed for good: no job end reaches the completion function.
    await withRouteFaults({ dropFirst: 1_000_000 }, async () => {
      // The sweeper's schedule (Cloud Scheduler calls it every minute; here every second).
      const sweeper = setInterval(() => void suite.stack.sweep().catch(() => undefined), 1_000);
      try {
        await runLedgered('sweeper', 9, 3);
      } finally {
        clearInterval(sweeper);
        // The sweep in flight (single-flight: this call joins it) ends before the stack may stop.
        await suite.stack.sweep().catch(() => undefined);
      }
    });
  }, 180_000);

  it('rides out a Cloud Run quota window: admissions answered 429 hand their jobs to the sweeper, none Errored', async () => {
    // The sweeper's schedule (Cloud Scheduler calls it every minute; here every second).
    const sweeper = setInterval(() => void suite.stack.sweep().catch(() => undefined), 1_000);
    try {
      const ledger = join(dir, 'ledger-quota.txt');
      const params = Array.from({ length: 8 }, (_, index) => ({ ledger, ms: 50, index }));
      const { orchestrationId, jobIds, launch } = await suite.service.kickOffJob('ledgered', params, {
        maxParallel: 2,
      });
      expect(launch).toMatchObject({ launched: 2 });
      // From now on Cloud Run answers 429, until the admission after the first job end gave up (past
      // the function's 30 s retry budget) and handed the job it admitted to the sweeper.
      suite.stack.cloudRun.faults.rejectRunsFor(600_000, 'RESOURCE_EXHAUSTED');
      const store = storeFor(suite.clients.firestore);
      await waitForSnapshot(
        store.collections.job(orchestrationId, jobIds[2] as string),
        (snapshot) =>
          snapshot.exists && parseJobDocument(snapshot).launchDeferredAt !== null ? true : undefined,
        { what: 'job 2 handed to the sweeper', timeoutMs: 120_000 },
      );
      // Until Cloud Run takes runs again, the job says why it waits.
      expect(await suite.service.getJob(orchestrationId, jobIds[2] as string)).toMatchObject({
        status: 'Pending',
        waiting: 'quota',
      });
      suite.stack.cloudRun.faults.clear();
      expect(await eventWithin(suite, orchestrationId, 240_000)).toMatchObject({
        status: 'Completed',
        succeeded: 8,
        failed: 0,
      });
      const { most, starts } = readLedger(ledger);
      expect(most).toBeLessThanOrEqual(2);
      expect([...starts.values()]).toEqual(Array.from({ length: 8 }, () => 1));
    } finally {
      clearInterval(sweeper);
      await suite.stack.sweep().catch(() => undefined);
    }
  }, 300_000);

  it('shares a concurrency key between two orchestrations: never above its limit together, slots shared fairly', async () => {
    const ledgers = [join(dir, 'ledger-key-a.txt'), join(dir, 'ledger-key-b.txt')];
    const kickOffs = await Promise.all(
      ledgers.map((ledger) =>
        suite.service.kickOffJob(
          'ledgered',
          Array.from({ length: 10 }, (_, index) => ({ ledger, ms: 300, index })),
          { concurrency: { key: 'warehouse-db', limit: 4 } },
        ),
      ),
    );
    for (const { orchestrationId } of kickOffs) {
      expect(await eventWithin(suite, orchestrationId, 180_000)).toMatchObject({
        status: 'Completed',
        succeeded: 10,
      });
    }
    // Both ledgers on one timeline: never more than the key's limit at once.
    const together = join(dir, 'ledger-key-both.txt');
    writeFileSync(together, ledgers.map((ledger) => readFileSync(ledger, 'utf8')).join(''));
    expect(readLedger(together).most).toBeLessThanOrEqual(4);
    // While both had jobs to start, each got at least 40% of the starts.
    const starts = ledgers.map((ledger) =>
      readFileSync(ledger, 'utf8')
        .split('\n')
        .filter((line) => line.startsWith('start '))
        .map((line) => Number(line.split(' ')[3])),
    );
    const bothWaiting = Math.min(...starts.map((times) => Math.max(...times)));
    const within = starts.map((times) => times.filter((at) => at <= bothWaiting).length);
    const total = within.reduce((sum, n) => sum + n, 0);
    for (const n of within) expect(n / total).toBeGreaterThanOrEqual(0.4);
  }, 300_000);
});
