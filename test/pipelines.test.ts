import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { isE11Error, type PipelineCompletedEvent } from '@e11/core';
import { setBridgeRoute } from '@e11/emulators';
import { subscribeToPipelineCompleted } from '@e11/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { checked, etlContinue, etlFail, etlIgnore, pipelines } from './fixtures/src/pipelines.js';
import { captureIo } from './helpers/capture.js';
import { readLedger } from './helpers/ledger.js';
import { stackService, storeFor } from './helpers/project.js';
import { useRunnerStack } from './helpers/runner-stack.js';

const PIPELINES_MODULE = fileURLToPath(new URL('./fixtures/dist/pipelines.js', import.meta.url));

const suite = useRunnerStack('pipelines', {
  cloudRunJobs: ['ledgered'],
  cloudRunOptions: { maxConcurrentTasks: 12 },
  pipelinesModule: PIPELINES_MODULE,
  // The sweeper on a timer, as in production, with a short grace for a launch whose launcher died (a
  // stage kick-off the SIGKILL cut short): launched jobs are described, never launched twice.
  sweepIntervalMs: 2_000,
  sweepOptions: { pendingTimeoutMs: 10_000 },
  service: { pipelines },
});
const dir = mkdtempSync(join(tmpdir(), 'e11-pipelines-'));

/** Every PipelineCompletedEvent of the file's topic, and a way to wait for one. */
const ended: PipelineCompletedEvent[] = [];
const waiters = new Set<() => void>();
let subscription: { close(): Promise<void> } | undefined;
beforeAll(async () => {
  subscription = await subscribeToPipelineCompleted(
    suite.clients.pubsub,
    { topic: suite.base.defaultTopic },
    (event) => {
      ended.push(event);
      for (const wake of [...waiters]) wake();
    },
  );
});
afterAll(async () => {
  await subscription?.close();
  rmSync(dir, { recursive: true, force: true });
});

function pipelineEnd(pipelineId: string, epoch = 1, ms = 150_000): Promise<PipelineCompletedEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      waiters.delete(check);
      void suite.service
        .getPipeline(pipelineId)
        .then(
          (info) => reject(new Error(`no PipelineCompletedEvent within ${ms} ms: ${JSON.stringify(info)}`)),
          reject,
        );
    }, ms);
    const check = () => {
      const event = ended.find((e) => e.pipelineId === pipelineId && e.epoch === epoch);
      if (!event) return;
      waiters.delete(check);
      clearTimeout(timer);
      resolve(event);
    };
    waiters.add(check);
    check();
  });
}

/** The orchestrations the store holds for a pipeline's stages, by stage index. */
async function stageOrchestrations(pipelineId: string): Promise<Map<number, string[]>> {
  const store = storeFor(suite.clients.firestore);
  const snapshot = await store.collections
    .orchestrations()
    .where('pipeline.pipelineId', '==', pipelineId)
    .get();
  const byStage = new Map<number, string[]>();
  for (const doc of snapshot.docs) {
    const stage = Number(doc.get('pipeline.stage'));
    byStage.set(stage, [...(byStage.get(stage) ?? []), doc.id]);
  }
  return byStage;
}

/** Cloud Run executions per job id of an orchestration. */
function launchesPerJob(orchestrationId: string): Map<string, number> {
  const perJob = new Map<string, number>();
  for (const execution of suite.stack.cloudRun.listExecutions()) {
    if (execution.env.ORCHESTRATION_ID !== orchestrationId) continue;
    const jobId = execution.env.JOB_ID ?? '';
    perJob.set(jobId, (perJob.get(jobId) ?? 0) + 1);
  }
  return perJob;
}

const FAILING = [7, 21, 42];

/** The job indexes a ledger's jobs ran, each checked to have started exactly once. */
function ranOnce(ledger: string): number[] {
  const { starts } = readLedger(ledger);
  for (const [index, count] of starts)
    expect(count, `job ${index} of ${ledger} started ${count} times`).toBe(1);
  return [...starts.keys()];
}

/** Runs `e11 <argv>` in-process on a service of the file's stack (without the pipelines: an operator's CLI). */
async function e11(argv: string[]) {
  const { runCli } = await import('@e11/cli');
  const io = captureIo();
  const code = await runCli(argv, io, () => stackService(suite.stack, suite.base));
  return { code, stdout: io.stdout.text, stderr: io.stderr.text };
}

describe('pipelines on the local stack', () => {
  it('split(1) → process(50, 3 failing) → merge(1) in each failure mode: every trigger delivered twice, the functions SIGKILLed between stages, each stage launched once and one PipelineCompletedEvent', async () => {
    const route = {
      projectId: suite.projectId,
      triggerId: suite.stack.trigger.triggerId,
      target: suite.stack.functions.url,
    };
    await setBridgeRoute(suite.stack.bridgeUrl, {
      ...route,
      faults: { duplicate: 2, shuffle: { maxDelayMs: 100 } },
    });
    try {
      const runs = await Promise.all(
        [etlFail, etlContinue, etlIgnore].map(async (definition) => {
          const ledger = join(dir, definition.name);
          const input = { ledger, count: 50, failing: FAILING };
          const started = await suite.service.startPipeline(definition, input, {
            tags: { customer: 'acme' },
          });
          return { definition, ledger, ...started };
        }),
      );
      // Between stages: as soon as one split stage's event is out, the functions server dies (its
      // transitions in flight with it) and comes back; redeliveries and the sweeper finish the work.
      const firstSplit = runs[0]?.orchestrationId as string;
      await suite.completed.eventFor(firstSplit);
      await suite.stack.functions.kill('SIGKILL');
      await suite.stack.functions.restart();
      await suite.stack.sweep();
      const events = await Promise.all(runs.map((run) => pipelineEnd(run.pipelineId)));
      // Let every duplicate and retry land before counting events. Deliveries that failed all their
      // retries while the functions were down are lost triggers, which the sweeper stands in for.
      await suite.stack.trigger.waitForIdle({ timeoutMs: 60_000 });
      await suite.stack.sweep();

      for (const [i, run] of runs.entries()) {
        const event = events[i] as PipelineCompletedEvent;
        expect(ended.filter((e) => e.pipelineId === run.pipelineId)).toHaveLength(1);
        expect(event.tags).toEqual({ customer: 'acme' });
        const stages = await stageOrchestrations(run.pipelineId);
        // Each stage that ran has one orchestration, and each of its jobs was launched and ran once
        // (its ledger). Not launched once: a launch the SIGKILL cut off before it was recorded is
        // launched again by the sweeper, and the job's claim lets one of the two tasks run it.
        for (const ids of stages.values()) expect(ids).toHaveLength(1);
        expect(launchesPerJob(stages.get(0)?.[0] as string).size).toBe(1);
        expect([...ranOnce(`${run.ledger}.split`)]).toEqual([50]);
        expect(launchesPerJob(stages.get(1)?.[0] as string).size).toBe(50);
        expect(ranOnce(`${run.ledger}.process`)).toHaveLength(50);
        expect(event.stages.map((s) => [s.name, s.status])).toEqual(
          run.definition === etlFail
            ? [
                ['split', 'Completed'],
                ['process', 'Errored'],
                ['merge', 'Waiting'],
              ]
            : [
                ['split', 'Completed'],
                ['process', 'Errored'],
                ['merge', 'Completed'],
              ],
        );
        expect(event.stages[1]).toMatchObject({ total: 50, succeeded: 47, failed: 3 });
        if (run.definition === etlFail) {
          expect(event).toMatchObject({ status: 'Errored', reason: 'stageFailed', failedStage: 'process' });
          expect(stages.has(2)).toBe(false);
          expect(existsSync(`${run.ledger}.merge`)).toBe(false);
        } else {
          expect(event).toMatchObject({ status: 'Completed', reason: null });
          const merge = stages.get(2)?.[0] as string;
          expect(ranOnce(`${run.ledger}.merge`)).toHaveLength(1);
          // The merge job's index is what it received: successes × 1000 + failures.
          const [successes] = await suite.service.getJobResults<number>(merge);
          expect(successes.map((s) => s.result)).toEqual([run.definition === etlContinue ? 47_003 : 47_000]);
        }
        const info = await suite.service.getPipeline(run.pipelineId);
        expect(info).toMatchObject({ status: event.status, epoch: 1, event: { published: true } });
      }
    } finally {
      await setBridgeRoute(suite.stack.bridgeUrl, route);
    }
  }, 300_000);

  it('retryPipeline resumes from the failed stage with the original params and ends with a second event', async () => {
    const ledger = join(dir, 'retry');
    const { pipelineId } = await suite.service.startPipeline(etlFail, { ledger, count: 10, failing: [3] });
    expect(await pipelineEnd(pipelineId)).toMatchObject({ status: 'Errored', failedStage: 'process' });
    // The failing job heals: the retry runs only it again, then the pipeline goes on to merge.
    writeFileSync(`${ledger}.process.heal`, '');
    expect(await suite.service.retryPipeline(pipelineId)).toEqual({ epoch: 2 });
    const second = await pipelineEnd(pipelineId, 2);
    expect(second).toMatchObject({ status: 'Completed', epoch: 2, eventId: `${pipelineId}:2` });
    const starts = readLedger(`${ledger}.process`).starts;
    expect(starts.get(3)).toBe(2);
    expect([...starts.entries()].filter(([index]) => index !== 3).every(([, n]) => n === 1)).toBe(true);
    const stages = await stageOrchestrations(pipelineId);
    const [successes] = await suite.service.getJobResults<number>(stages.get(2)?.[0] as string);
    expect(successes.map((s) => s.result)).toEqual([10_000]);
    // The CLI shows the stages and their orchestrations.
    const status = await e11(['pipeline', 'status', pipelineId]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/status +Completed/);
    expect(status.stdout).toMatch(
      new RegExp(`process +ledgered +fail +Completed +10 jobs: 10 ok, 0 failed +${stages.get(1)?.[0]}`),
    );
    const listed = await e11(['--json', 'pipeline', 'list', '--status', 'Completed']);
    expect(
      listed.stdout
        .split('\n')
        .filter(Boolean)
        .map((line) => (JSON.parse(line) as { pipelineId: string }).pipelineId),
    ).toContain(pipelineId);
    const missing = await e11(['pipeline', 'status', '00000000-0000-4000-8000-000000000000']);
    expect(missing).toMatchObject({ code: 3 });
    expect(missing.stderr).toContain('E11_UNKNOWN_PIPELINE');
  }, 180_000);

  it('cancelPipeline ends it Cancelled with one event, cancels the running stage and starts no later one', async () => {
    const ledger = join(dir, 'cancel');
    const { pipelineId } = await suite.service.startPipeline(etlContinue, { ledger, count: 30, failing: [] });
    await new Promise<void>((resolve, reject) => {
      const watching = suite.service.watchPipeline(pipelineId).subscribe({
        next: (info) => {
          if (info.currentStage === 'process') {
            watching.unsubscribe();
            resolve();
          }
        },
        error: reject,
      });
    });
    expect(await e11(['pipeline', 'cancel', pipelineId])).toMatchObject({ code: 0, stdout: 'Cancelled.\n' });
    expect(await suite.service.cancelPipeline(pipelineId)).toEqual({ cancelled: false });
    const event = await pipelineEnd(pipelineId);
    expect(event).toMatchObject({ status: 'Cancelled', reason: 'cancelled' });
    const stages = await stageOrchestrations(pipelineId);
    const process_ = stages.get(1)?.[0] as string;
    const processEnd = await suite.completed.eventFor(process_);
    expect(processEnd.status).toBe('Cancelled');
    await suite.stack.sweep();
    expect((await stageOrchestrations(pipelineId)).has(2)).toBe(false);
    expect(ended.filter((e) => e.pipelineId === pipelineId)).toHaveLength(1);
  }, 180_000);

  it("runs a tenant's pipeline for that tenant only: another tenant's service can neither see nor act on it or its stages", async () => {
    const acme = suite.service.forTenant('acme');
    const globex = suite.service.forTenant('globex');
    const { pipelineId } = await acme.startPipeline(etlIgnore, {
      ledger: join(dir, 'tenant'),
      count: 2,
      failing: [],
    });
    expect(await pipelineEnd(pipelineId)).toMatchObject({ status: 'Completed', tags: { tenant: 'acme' } });
    const stages = await stageOrchestrations(pipelineId);
    expect(stages.size).toBe(3);
    for (const [orchestrationId] of stages.values()) {
      expect((await acme.getOrchestration(orchestrationId as string)).tags).toMatchObject({ tenant: 'acme' });
      const foreign = await globex
        .getOrchestration(orchestrationId as string)
        .catch((error: unknown) => error);
      expect(isE11Error(foreign, 'E11_UNKNOWN_ORCHESTRATION')).toBe(true);
    }
    for (const act of [
      () => globex.getPipeline(pipelineId),
      () => globex.cancelPipeline(pipelineId),
      () => globex.retryPipeline(pipelineId),
    ]) {
      expect(isE11Error(await act().catch((error: unknown) => error), 'E11_UNKNOWN_PIPELINE')).toBe(true);
    }
    const watched = await new Promise((resolve) =>
      globex.watchPipeline(pipelineId).subscribe({ error: resolve }),
    );
    expect(isE11Error(watched, 'E11_UNKNOWN_PIPELINE')).toBe(true);
    expect((await globex.listPipelines()).map((info) => info.pipelineId)).not.toContain(pipelineId);
    expect((await acme.listPipelines()).map((info) => info.pipelineId)).toContain(pipelineId);
    expect((await acme.getPipeline(pipelineId)).tenant).toBe('acme');
  }, 120_000);

  it('refuses an unregistered pipeline, first-stage params that throw or a missing topic at startPipeline, writing nothing', async () => {
    const { definePipeline } = await import('@e11/sdk');
    const stranger = definePipeline({
      name: 'stranger',
      stages: [{ name: 'a', job: 'ledgered', params: () => [{ ledger: join(dir, 'x'), ms: 1, index: 0 }] }],
    });
    const store = storeFor(suite.clients.firestore);
    const pipelinesBefore = (await store.firestore.collection(`${store.collections.prefix}pipelines`).get())
      .size;
    const unknown = await suite.service.startPipeline(stranger, null).catch((error: unknown) => error);
    expect(isE11Error(unknown, 'E11_UNKNOWN_PIPELINE')).toBe(true);
    const bad = await suite.service
      .startPipeline(checked, { ledger: join(dir, 'checked'), count: -1, failing: [] })
      .catch((error: unknown) => error);
    expect(isE11Error(bad, 'E11_INVALID_PARAMS')).toBe(true);
    expect((bad as Error).message).toContain('count must be >= 0, got -1');
    // The first stage's kick-off is checked before anything is written: a topic that does not exist.
    const noTopic = await suite.service
      .startPipeline(
        checked,
        { ledger: join(dir, 'checked'), count: 1, failing: [] },
        { topic: 'no-such-topic' },
      )
      .catch((error: unknown) => error);
    expect(isE11Error(noTopic, 'E11_UNKNOWN_TOPIC')).toBe(true);
    expect((await store.firestore.collection(`${store.collections.prefix}pipelines`).get()).size).toBe(
      pipelinesBefore,
    );
  });
});
