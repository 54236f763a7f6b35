import { fileURLToPath } from 'node:url';

import { idempotentOrchestrationId } from '@e11/core';
import { createExecutionsClient } from '@e11/core/engine';
import { definePipeline, type OrchestrationService } from '@e11/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { GreetUser, Shout, SumSales } from './fixtures/dist/typed-handles.js';
import { SumSalesJob } from './fixtures/dist/typed-jobs.js';
import { stackService, storeFor } from './helpers/project.js';
import { rejection } from './helpers/rejection.js';
import { useRunnerStack } from './helpers/runner-stack.js';

const TYPED_ENTRYPOINT = fileURLToPath(new URL('./fixtures/dist/typed-entrypoint.js', import.meta.url));

const suite = useRunnerStack('typed-jobs', {
  cloudRunJobs: ['sum-sales', 'greet-user', 'shout'],
  entrypoint: TYPED_ENTRYPOINT,
});
const RESULTS_TIMEOUT = { timeoutMs: 60_000 };

/** A pipeline whose first stage names its job by handle: the stage's params are checked with its schema. */
const monthly = definePipeline<{ months: string[] }>({
  name: 'typed-monthly',
  stages: [
    {
      name: 'sum',
      job: SumSales,
      params: ({ input }) => input.months.map((month) => ({ month, amounts: [] })),
    },
  ],
});

/**
 * A second service that registers the handles (`jobs` option), so kick-offs by name are checked too,
 * and the pipeline.
 */
let registered: OrchestrationService;
beforeAll(() => {
  registered = stackService(suite.stack, suite.base, { jobs: [SumSales, GreetUser], pipelines: [monthly] });
});
afterAll(() => registered?.close());

/** The Cloud Run executions of one job id, from the emulator through the real @google-cloud/run client. */
async function executionsOf(jobId: string): Promise<string[]> {
  const client = createExecutionsClient({
    projectId: suite.projectId,
    emulatorHost: suite.stack.cloudRun.endpoint,
  });
  try {
    const [listed] = await client.listExecutions({
      parent: `projects/${suite.projectId}/locations/${suite.stack.env.E11_REGION}/jobs/${jobId}`,
    });
    return listed.map((execution) => execution.name ?? '');
  } finally {
    await client.close();
  }
}

/**
 * Asserts that a refused kick-off with `idempotencyKey` left nothing: no orchestration document under
 * the id that key maps to, and no Cloud Run execution of `cloudRunJob` (its count unchanged).
 */
async function expectNothingWritten(idempotencyKey: string, cloudRunJob: string, executionsBefore: string[]) {
  const store = storeFor(suite.clients.firestore);
  const orchestrationId = idempotentOrchestrationId(store.collections.prefix, null, idempotencyKey);
  expect((await store.collections.orchestration(orchestrationId).get()).exists).toBe(false);
  expect(
    suite.stack.cloudRun.listExecutions().filter((e) => e.env.ORCHESTRATION_ID === orchestrationId),
  ).toEqual([]);
  expect(await executionsOf(cloudRunJob)).toEqual(executionsBefore);
  return orchestrationId;
}

describe('job handles end to end', () => {
  it('kickOffJob with a handle runs the job in its container and getJobResults returns its typed results', async () => {
    const { orchestrationId } = await suite.service.kickOffJob(SumSales, [
      { month: '2024-05', amounts: [100, 250] },
      { month: '2024-06', amounts: [] },
    ]);
    const [successes, failures] = await suite.service.getJobResults(
      SumSales,
      orchestrationId,
      RESULTS_TIMEOUT,
    );
    expect(failures).toBeNull();
    const totals = successes
      .sort((a, b) => a.index - b.index)
      .map((success) => [success.params.month, success.result.totalCents]);
    expect(totals).toEqual([
      ['2024-05', 350],
      ['2024-06', 0],
    ]);
  });

  it('runs a handle whose params are a TypeScript interface, without a schema', async () => {
    const { orchestrationId } = await suite.service.kickOffJob(Shout, [{ text: 'hi', times: 2 }]);
    const [successes] = await suite.service.getJobResults(Shout, orchestrationId, RESULTS_TIMEOUT);
    expect(successes.map((success) => success.result.shouted)).toEqual(['HIHI']);
  });

  it('getJobResults with the handle of another job is refused with E11_INVALID_OPTIONS', async () => {
    const { orchestrationId } = await suite.service.kickOffJob(Shout, [{ text: 'x' }]);
    const error = await rejection(suite.service.getJobResults(SumSales, orchestrationId));
    expect(error.code).toBe('E11_INVALID_OPTIONS');
    expect(error.message).toContain(`ran job 'shout', not 'sum_sales'`);
    await suite.service.getJobResults(Shout, orchestrationId, RESULTS_TIMEOUT);
  });
});

describe('kickOffJob checks params with the job schema before writing anything', () => {
  it('a zod schema: E11_INVALID_PARAMS names the index and field; no orchestration, no execution', async () => {
    const before = await executionsOf('sum-sales');
    const error = await rejection(
      suite.service.kickOffJob(
        SumSales,
        [
          { month: '2024-05', amounts: [1] },
          { month: 202405 as unknown as string, amounts: [1] },
          { month: '2024-07', amounts: [2] },
          { month: '2024-08', amounts: [1.5] },
        ],
        { idempotencyKey: 'typed-bad-zod' },
      ),
    );
    expect(error.code).toBe('E11_INVALID_PARAMS');
    expect(error.message).toMatch(/params\[1\]\.month: .*expected string/i);
    expect(error.message).toMatch(/params\[3\]\.amounts\[0\]: /);
    expect(error.message).toContain('2 of 4 params sets');
    expect(error.context).toMatchObject({ jobName: 'sum_sales', index: 1, path: 'params[1].month' });
    const orchestrationId = await expectNothingWritten('typed-bad-zod', 'sum-sales', before);
    // The same key with valid params registers that very id: the check above looked at the right place.
    const valid = await suite.service.kickOffJob(SumSales, [{ month: '2024-05', amounts: [1] }], {
      idempotencyKey: 'typed-bad-zod',
    });
    expect(valid.orchestrationId).toBe(orchestrationId);
    await suite.service.getJobResults(SumSales, orchestrationId, RESULTS_TIMEOUT);
  });

  it('an asynchronous schema (zod async refinement) is awaited: its issue fails the kick-off', async () => {
    const before = await executionsOf('sum-sales');
    const error = await rejection(
      suite.service.kickOffJob(
        SumSales,
        [
          { month: '2024-05', amounts: [] },
          { month: '2024-06', amounts: [] },
          { month: '1999-12', amounts: [] },
        ],
        { idempotencyKey: 'typed-bad-async' },
      ),
    );
    expect(error.code).toBe('E11_INVALID_PARAMS');
    expect(error.message).toContain('params[2].month: That month is archived');
    await expectNothingWritten('typed-bad-async', 'sum-sales', before);
  });

  it('a valibot schema: E11_INVALID_PARAMS names the nested field; no orchestration, no execution', async () => {
    const before = await executionsOf('greet-user');
    const error = await rejection(
      suite.service.kickOffJob(
        GreetUser,
        [
          { user: { name: 'Ada', email: 'ada@example.com' } },
          { user: { name: 'Bob', email: 'not-an-email' } },
        ],
        { idempotencyKey: 'typed-bad-valibot' },
      ),
    );
    expect(error.code).toBe('E11_INVALID_PARAMS');
    expect(error.message).toMatch(/params\[1\]\.user\.email: .*email/i);
    expect(error.context).toMatchObject({ index: 1, path: 'params[1].user.email' });
    await expectNothingWritten('typed-bad-valibot', 'greet-user', before);
  });

  it('lists at most three issues and counts the others', async () => {
    const params = Array.from({ length: 10 }, () => ({ user: { name: 'x', email: 'nope' } }));
    const error = await rejection(suite.service.kickOffJob(GreetUser, params));
    expect(error.message).toContain('10 of 10 params sets');
    expect(error.message).toContain('(and 7 more issues)');
    expect(error.context.issues).toHaveLength(3);
  });

  it('by name, with the handle registered in the jobs option, or by a class whose @JobName has the handle', async () => {
    const before = await executionsOf('sum-sales');
    const bad = [{ month: 'May', amounts: [] }];
    const byName = await rejection(
      registered.kickOffJob('sum_sales', bad, { idempotencyKey: 'typed-bad-name' }),
    );
    expect(byName).toMatchObject({ code: 'E11_INVALID_PARAMS', context: { path: 'params[0].month' } });
    const byClass = await rejection(
      suite.service.kickOffJob(SumSalesJob, bad, { idempotencyKey: 'typed-bad-class' }),
    );
    expect(byClass).toMatchObject({ code: 'E11_INVALID_PARAMS', context: { path: 'params[0].month' } });
    await expectNothingWritten('typed-bad-name', 'sum-sales', before);
    await expectNothingWritten('typed-bad-class', 'sum-sales', before);
  });
});

describe('startPipeline checks its first stage the same way', () => {
  it('a stage named by handle: bad first-stage params throw E11_INVALID_PARAMS; no pipeline, no orchestration, no execution', async () => {
    const before = await executionsOf('sum-sales');
    const error = await rejection(registered.startPipeline(monthly, { months: ['2024-05', 'May'] }));
    expect(error).toMatchObject({
      code: 'E11_INVALID_PARAMS',
      context: { index: 1, path: 'params[1].month' },
    });
    expect(await registered.listPipelines()).toEqual([]);
    expect(await executionsOf('sum-sales')).toEqual(before);
  });
});

describe('the container checks params again', () => {
  it('params kicked off by name without the schema are refused by the container with E11_VALIDATION_FAILED', async () => {
    const { orchestrationId } = await suite.service.kickOffJob('sum_sales', [{ month: 'May', amounts: [1] }]);
    const [successes, failures] = await suite.service.getJobResults(orchestrationId, RESULTS_TIMEOUT);
    expect(successes).toEqual([]);
    expect(failures?.[0]?.error).toMatchObject({ code: 'E11_VALIDATION_FAILED' });
    expect(failures?.[0]?.error.message).toContain("'month'");
  });
});
