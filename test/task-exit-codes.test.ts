import { describe, expect, it } from 'vitest';

import { eventWithin, useRunnerStack } from './helpers/runner-stack.js';

// Cloud Run retries a task whose container exits non-zero (here twice, as a job deployed with
// --max-retries=2): a task must exit 0 once its job's end is recorded, and non-zero only when a retry
// has something to do.
const suite = useRunnerStack('task-exit-codes', {
  cloudRunJobs: ['always-fails', 'throws-in-timer'],
  maxRetries: 2,
});

/** The one execution launched for `orchestrationId`, once it ended. */
async function endedExecution(orchestrationId: string) {
  const [execution] = suite.stack.cloudRun
    .listExecutions()
    .filter((candidate) => candidate.env.ORCHESTRATION_ID === orchestrationId);
  if (!execution) throw new Error(`no execution for ${orchestrationId}`);
  return suite.stack.cloudRun.waitForExecution(execution.name);
}

describe("a task's exit code against Cloud Run's task retries", () => {
  it('exits 0 after recording a permanent failure: Cloud Run spends no retry on it', async () => {
    const { orchestrationId, jobIds } = await suite.service.kickOffJob('always_fails', [{}]);
    expect(await eventWithin(suite, orchestrationId, 60_000)).toMatchObject({ status: 'Errored', failed: 1 });
    const execution = await endedExecution(orchestrationId);
    expect(execution.tasks[0]).toMatchObject({ exitCode: 0, retried: 0 });
    expect(await suite.service.getJob(orchestrationId, jobIds[0] as string)).toMatchObject({
      status: 'Errored',
      attempt: 1,
      error: { code: 'UPSTREAM_REJECTED', retryable: false },
    });
  }, 90_000);

  it('exits non-zero on a crash, so Cloud Run retries the task, and 0 once the attempts are used up', async () => {
    const { orchestrationId, jobIds } = await suite.service.kickOffJob('throws_in_timer', [{}], {
      retry: { maxAttempts: 2 },
    });
    expect(await eventWithin(suite, orchestrationId, 90_000)).toMatchObject({ status: 'Errored', failed: 1 });
    const execution = await endedExecution(orchestrationId);
    // Attempt 1 crashed (exit 1) and Cloud Run retried it; attempt 2 crashed too; the third delivery
    // found no attempt left, dead-lettered the job and exited 0: no third retry was spent.
    expect(execution.tasks[0]).toMatchObject({ exitCode: 0, retried: 2 });
    const job = await suite.service.getJob(orchestrationId, jobIds[0] as string);
    expect(job).toMatchObject({ status: 'Errored', deadLettered: true });
    expect(job.attempts.map((attempt) => attempt.outcome)).toEqual(['Crashed', 'Crashed']);
  }, 120_000);
});
