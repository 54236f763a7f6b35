import { filter, firstValueFrom } from 'rxjs';
import { describe, expect, it } from 'vitest';

import { runBuiltCli } from './helpers/cli.js';
import { rejection } from './helpers/rejection.js';
import { useRunnerStack } from './helpers/runner-stack.js';

/**
 * pause() and resume() on the whole local stack: a pause stops the kick-off's launch at once and the
 * sweeper launches nothing while it lasts (even with every grace at 0, when it would otherwise launch
 * every held-back job), running jobs finish; `e11 resume` launches what was held back, and the
 * orchestration ends with one event.
 */
const suite = useRunnerStack('pause-resume', {
  cloudRunJobs: ['add-numbers'],
  // Whatever a sweep may launch, it launches.
  sweepOptions: { requeueGraceMs: 0, pendingTimeoutMs: 0, completionGraceMs: 0 },
  // One launch a second: the pause lands while most jobs are still to launch.
  service: { launch: { ratePerMinute: 60, burst: 1, concurrency: 1 } },
});
const { completed, projectId } = suite;

/** Executions started for the orchestration on the Cloud Run emulator. */
const executionsOf = (orchestrationId: string) =>
  suite.stack.cloudRun.listExecutions().filter((e) => e.env.ORCHESTRATION_ID === orchestrationId);
/**
 * Jobs of the orchestration with at least one execution. RunJob is not idempotent: a request retried
 * after an ambiguous failure (a deadline on a loaded machine) may start a job twice, which its claim
 * makes harmless, so jobs are counted, not executions.
 */
const jobsLaunched = (orchestrationId: string) =>
  new Set(executionsOf(orchestrationId).map((e) => e.env.JOB_ID)).size;

describe('pause and resume', () => {
  it('holds back launches (kick-off and sweeper) while paused, lets running jobs finish, and launches the rest on resume', async () => {
    const params = Array.from({ length: 8 }, (_, i) => ({ a: i, b: 1 }));
    const kick = await suite.service.kickOffJob('add_numbers', params, { background: true });
    expect(await suite.service.pause(kick.orchestrationId)).toEqual({ paused: true });
    const report = await kick.launched;
    expect(report?.deferred).toBeGreaterThan(0);
    expect((report?.launched ?? 0) + (report?.deferred ?? 0)).toBe(8);
    const launchedBefore = jobsLaunched(kick.orchestrationId);
    expect(launchedBefore).toBe(report?.launched);
    const executionsBefore = executionsOf(kick.orchestrationId).length;

    // Running jobs finish while paused.
    const info = await firstValueFrom(
      suite.service
        .watch(kick.orchestrationId)
        .pipe(filter((i) => i.counts.completed === launchedBefore && i.counts.inProgress === 0)),
    );
    expect(info).toMatchObject({ paused: true, status: 'InProgress' });
    expect(info.counts.pending).toBe(8 - launchedBefore);

    // A sweep with no grace launches nothing for a paused orchestration.
    await suite.stack.sweep();
    expect(executionsOf(kick.orchestrationId)).toHaveLength(executionsBefore);
    expect(completed.of(kick.orchestrationId)).toEqual([]);

    // `e11 resume` (the CLI) launches what the pause held back.
    const cli = await runBuiltCli(projectId, ['--json', 'resume', kick.orchestrationId], {
      E11_CLOUD_RUN_EMULATOR_HOST: suite.stack.cloudRun.endpoint,
    });
    expect(cli.code).toBe(0);
    expect(JSON.parse(cli.stdout)).toEqual({ resumed: true, launched: 8 - launchedBefore });
    const [successes, failures] = await suite.service.getJobResults(kick.orchestrationId, {
      timeoutMs: 60_000,
    });
    expect(successes.map((s) => s.result)).toEqual(params.map((p) => ({ sum: p.a + p.b })));
    expect(failures).toBeNull();
    expect(await completed.eventFor(kick.orchestrationId)).toMatchObject({
      status: 'Completed',
      succeeded: 8,
    });
    expect(jobsLaunched(kick.orchestrationId)).toBe(8);
    expect((await suite.service.getOrchestration(kick.orchestrationId)).paused).toBe(false);
  }, 120_000);

  it('leaves an ended orchestration alone, resumes only a paused one, and hides other tenants’ ids', async () => {
    const kick = await suite.service.kickOffJob('add_numbers', [{ a: 1, b: 2 }]);
    await completed.eventFor(kick.orchestrationId);
    expect(await suite.service.pause(kick.orchestrationId)).toEqual({ paused: false });
    expect(await suite.service.resume(kick.orchestrationId)).toEqual({ resumed: false, launched: 0 });
    const other = suite.service.forTenant('someone-else');
    expect(await rejection(other.pause(kick.orchestrationId))).toMatchObject({
      code: 'E11_UNKNOWN_ORCHESTRATION',
    });
    expect(await rejection(other.resume(kick.orchestrationId))).toMatchObject({
      code: 'E11_UNKNOWN_ORCHESTRATION',
    });
  });
});
