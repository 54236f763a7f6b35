import { describe, expect, it } from 'vitest';

import { stackService } from './helpers/project.js';
import { rejection } from './helpers/rejection.js';
import { useRunnerStack } from './helpers/runner-stack.js';

/**
 * A kick-off with `delay` / `startAt` on the whole local stack: nothing launches before the start, not
 * even a sweep with every grace at 0; the backend launches it when due; a backend closed before then
 * leaves it to the sweeper, which launches it once due.
 */
const suite = useRunnerStack('delayed-start', {
  cloudRunJobs: ['add-numbers'],
  // Whatever a sweep may launch, it launches.
  sweepOptions: { requeueGraceMs: 0, pendingTimeoutMs: 0, completionGraceMs: 0 },
  service: { launch: { ratePerMinute: 100_000 } },
});
const { completed } = suite;

const executionsOf = (orchestrationId: string) =>
  suite.stack.cloudRun.listExecutions().filter((e) => e.env.ORCHESTRATION_ID === orchestrationId);

describe('a delayed start', () => {
  it('launches nothing before its start, then the backend launches every job when due', async () => {
    const params = [
      { a: 1, b: 2 },
      { a: 3, b: 4 },
    ];
    const kick = await suite.service.kickOffJob('add_numbers', params, { delay: '2s' });
    expect(kick.launch).toBeNull();
    const info = await suite.service.getOrchestration(kick.orchestrationId);
    expect(info.status).toBe('Pending');
    const startAt = info.startAt?.getTime() ?? 0;
    expect(startAt).toBeGreaterThan(Date.now());
    await suite.stack.sweep();
    expect(executionsOf(kick.orchestrationId)).toEqual([]);

    const report = await kick.launched;
    expect(report).toMatchObject({ launched: 2, failed: 0, deferred: 0 });
    // Every execution was created at or after the start.
    for (const execution of executionsOf(kick.orchestrationId)) {
      expect(execution.createTime.getTime()).toBeGreaterThanOrEqual(startAt);
    }
    const [successes] = await suite.service.getJobResults(kick.orchestrationId, { timeoutMs: 60_000 });
    expect(successes.map((s) => s.result)).toEqual([{ sum: 3 }, { sum: 7 }]);
    expect(await completed.eventFor(kick.orchestrationId)).toMatchObject({ status: 'Completed' });
  });

  it('launches nothing at its start while paused; resume() after the start launches it', async () => {
    const kick = await suite.service.kickOffJob('add_numbers', [{ a: 2, b: 2 }], { delay: '1s' });
    expect(await suite.service.pause(kick.orchestrationId)).toEqual({ paused: true });
    // Due while paused: the backend launches nothing.
    expect(await kick.launched).toBeNull();
    expect(executionsOf(kick.orchestrationId)).toEqual([]);
    expect(await suite.service.resume(kick.orchestrationId)).toEqual({ resumed: true, launched: 1 });
    const [successes] = await suite.service.getJobResults(kick.orchestrationId, { timeoutMs: 60_000 });
    expect(successes.map((s) => s.result)).toEqual([{ sum: 4 }]);
  });

  it('is launched by the sweeper once due when its backend closed before the start', async () => {
    const backend = stackService(suite.stack, suite.base);
    const kick = await backend.kickOffJob('add_numbers', [{ a: 5, b: 6 }], {
      startAt: new Date(Date.now() + 1_500),
    });
    await backend.close();
    expect(await kick.launched).toBeNull();
    const startAt = (await suite.service.getOrchestration(kick.orchestrationId)).startAt?.getTime() ?? 0;
    // Sweeps before the start launch nothing; the first one after it launches the job.
    const deadline = Date.now() + 30_000;
    while (executionsOf(kick.orchestrationId).length === 0 && Date.now() < deadline) {
      const sweptAt = Date.now();
      await suite.stack.sweep();
      if (sweptAt < startAt) expect(executionsOf(kick.orchestrationId)).toEqual([]);
    }
    expect(executionsOf(kick.orchestrationId).length).toBeGreaterThan(0);
    const [successes] = await suite.service.getJobResults(kick.orchestrationId, { timeoutMs: 60_000 });
    expect(successes.map((s) => s.result)).toEqual([{ sum: 11 }]);
  });

  it('refuses a start more than 30 days ahead, and startAt with delay, writing nothing', async () => {
    const stored = async () =>
      (await suite.clients.firestore.collection('e11_orchestrations').count().get()).data().count;
    const before = await stored();
    const far = new Date(Date.now() + 31 * 86_400_000);
    expect(
      await rejection(suite.service.kickOffJob('add_numbers', [{ a: 1, b: 1 }], { startAt: far })),
    ).toMatchObject({ code: 'E11_INVALID_OPTIONS', context: { path: 'startAt' } });
    expect(
      await rejection(
        suite.service.kickOffJob('add_numbers', [{ a: 1, b: 1 }], { startAt: new Date(), delay: '1s' }),
      ),
    ).toMatchObject({ code: 'E11_INVALID_OPTIONS' });
    expect(
      await rejection(suite.service.kickOffJob('add_numbers', [{ a: 1, b: 1 }], { startAt: 'tomorrow' })),
    ).toMatchObject({ code: 'E11_INVALID_OPTIONS', context: { path: 'startAt' } });
    expect(await stored()).toBe(before);
  });
});
