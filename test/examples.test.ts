import { type Stack, startStack } from '@e11/emulators';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { arrayMode } from '../examples/src/features/array-mode.js';
import { checkpoints } from '../examples/src/features/checkpoints.js';
import { jobCompletedEvent } from '../examples/src/features/job-completed-event.js';
import { schedules } from '../examples/src/features/schedules.js';
import { sseFetchHandler } from '../examples/src/features/sse-fetch-handler.js';
import { sseNodeHttp } from '../examples/src/features/sse-node-http.js';
import { tenants } from '../examples/src/features/tenants.js';
import { connectBackend, type ExampleBackend, exampleStackOptions } from '../examples/src/local-stack.js';
import { suiteEmulators, testProjectId } from './helpers/project.js';

/**
 * Every feature example of examples/src/features runs against one local stack (its own project on the
 * suite's emulators, the example jobs of examples/cloud-run.json run by the Cloud Run emulator) and
 * shows what its README line says. Needs the examples built (`npx tsc -b`): the tasks run
 * examples/dist/entrypoint.js.
 */
let stack: Stack;
let backend: ExampleBackend;

beforeAll(async () => {
  stack = await startStack({
    ...exampleStackOptions(),
    projectId: testProjectId('examples'),
    attach: suiteEmulators(),
    cloudRunOptions: { maxConcurrentTasks: 4 },
    sweepIntervalMs: 0,
    schedulerIntervalMs: 0,
  });
  backend = connectBackend(stack);
});

afterAll(async () => {
  await backend?.close();
  await stack?.stop();
});

describe('the feature examples on the local stack', () => {
  it('array-mode runs four jobs in one Cloud Run execution', async () => {
    expect(await arrayMode(backend)).toEqual({
      executions: 1,
      months: ['2026-01', '2026-02', '2026-03', '2026-04'],
      failures: 0,
    });
  });

  it('checkpoints: the second attempt resumes where the first one saved its checkpoint', async () => {
    expect(await checkpoints(backend)).toEqual({ imported: 100, resumedFrom: 40, attempt: 2, attempts: 2 });
  });

  it('schedules: a manual trigger launches the schedule and records its run', async () => {
    expect(await schedules(backend)).toEqual({ outcome: 'launched', month: '2026-03', runs: 1 });
  });

  it("tenants: one tenant's orchestration is unknown to another tenant", async () => {
    const outcome = await tenants(backend);
    expect(outcome.globexSees).toBe('E11_UNKNOWN_ORCHESTRATION');
    expect(outcome.acmeTotalCents).toBeGreaterThan(0);
  });

  it('sse-node-http streams status first and completed last, and refuses another customer', async () => {
    const outcome = await sseNodeHttp(backend);
    expect(outcome.otherCustomer).toBe(403);
    expect(outcome.events[0]).toBe('status');
    expect(outcome.events.at(-1)).toBe('completed');
    expect(outcome.events).toContain('job');
    expect(outcome.finalStatus).toBe('Completed');
  });

  it('sse-fetch-handler streams status events and completed from a fetch-style handler', async () => {
    const outcome = await sseFetchHandler(backend);
    expect(outcome.otherCustomer).toBe(403);
    expect(outcome.events[0]).toBe('status');
    expect(outcome.events.at(-1)).toBe('completed');
    expect(outcome.finalStatus).toBe('Completed');
  });

  it('job-completed-event receives the one event of its orchestration with its tags', async () => {
    expect(await jobCompletedEvent(backend)).toMatchObject({
      status: 'Completed',
      total: 2,
      succeeded: 2,
      failed: 0,
      tags: { customerId: 'initech' },
    });
  });
});
