import { describe, expect, it } from 'vitest';

import { eventWithin, useRunnerStack } from './helpers/runner-stack.js';

/**
 * What Cloud Logging and Error Reporting read from a failed task on the local stack: the task's stdout
 * as the Cloud Run emulator captured it, from a job the runner ran for real and that threw.
 */
const suite = useRunnerStack('logging-cloud', { cloudRunJobs: ['always-fails'] });
const SECRET = 'sk-live-77-logging-cloud-secret';

describe('task logs for Cloud Logging and Error Reporting', () => {
  it("logs a thrown error as an ERROR line with its stack trace, the job's labels and service, and no secret", async () => {
    const { orchestrationId, jobIds } = await suite.service.kickOffJob('always_fails', [{ apiKey: SECRET }], {
      sensitiveKeys: ['apiKey'],
    });
    expect(await eventWithin(suite, orchestrationId, 60_000)).toMatchObject({ status: 'Errored' });
    const [execution] = suite.stack.cloudRun
      .listExecutions()
      .filter((candidate) => candidate.env.ORCHESTRATION_ID === orchestrationId);
    expect(execution).toBeDefined();
    // The event may be published before the task wrote its last line: wait for the task to end.
    await suite.stack.cloudRun.waitForExecution(execution?.name ?? '', { timeoutMs: 30_000 });
    const output = suite.stack.cloudRun.taskOutput(execution?.name ?? '', 0);
    expect(output).not.toContain(SECRET);
    const lines = output
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const errors = lines.filter((line) => line.severity === 'ERROR');
    expect(errors).toHaveLength(1);
    const [failure] = errors;
    expect(failure).toMatchObject({
      message: 'Attempt 1 failed: the upstream rejected key [REDACTED]',
      serviceContext: { service: 'always_fails' },
      'logging.googleapis.com/labels': {
        orchestrationId,
        jobId: jobIds[0],
        jobName: 'always_fails',
        attempt: '1',
      },
      err: { message: 'the upstream rejected key [REDACTED]', code: 'UPSTREAM_REJECTED' },
    });
    // Error Reporting's format: the `Name: message` line, then the frames, the throw site first.
    const stack = String(failure?.stack_trace);
    expect(stack).toMatch(/^\w*Error: the upstream rejected key \[REDACTED\]\n {4}at AlwaysFailsJob\.run \(/);
    expect(stack.split('\n')[1]).toMatch(/test\/fixtures\/dist\/runner-jobs\.js:\d+:\d+\)$/);
    expect(failure?.timestamp).toEqual({
      seconds: expect.any(Number) as unknown,
      nanos: expect.any(Number) as unknown,
    });
  });
});
