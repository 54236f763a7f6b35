import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { createLogger } from '@e11/core';
import { type Stack, startStack } from '@e11/emulators';
import { createSchedulerTickHandler, type SchedulerTickHandler } from '@e11/functions';
import { type OrchestrationService, Schedules } from '@e11/sdk';
import * as functions from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { emulatorClients, stackService, suiteEmulators, testProjectId } from './helpers/project.js';

/**
 * The deployed `schedulerTick` function with nothing injected: it builds its engine from the
 * environment on the first request (from @e11/core alone) and launches through Cloud Run — here the
 * stack's Cloud Run emulator.
 */
const projectId = testProjectId('functions-tick-default');
const TOPIC = 'functions-tick-completed';
const { firestore, pubsub } = emulatorClients(projectId);
let stack: Stack;
let service: OrchestrationService;
let handler: SchedulerTickHandler;
let server: Server;
let url: string;

beforeAll(async () => {
  stack = await startStack({
    projectId,
    attach: suiteEmulators(),
    cloudRun: { jobs: { 'nightly-sync': { command: 'node', args: ['-e', 'process.exit(0)'] } } },
    topics: [TOPIC],
    sweepIntervalMs: 0,
    schedulerIntervalMs: 0,
  });
  service = stackService(stack, { projectId, firestore, pubsub, defaultTopic: TOPIC });
  // What the function's deployment sets; nothing else configures its engine.
  Object.assign(process.env, {
    GOOGLE_CLOUD_PROJECT: projectId,
    FIRESTORE_EMULATOR_HOST: inject('firestoreHost'),
    PUBSUB_EMULATOR_HOST: inject('pubsubHost'),
    E11_CLOUD_RUN_EMULATOR_HOST: stack.cloudRun.endpoint,
    E11_TOPIC: TOPIC,
  });
  handler = createSchedulerTickHandler({ logger: createLogger('tick-test', { level: 'silent' }) });
  functions.http('schedulerTick', handler);
  server = getTestServer('schedulerTick');
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

afterAll(async () => {
  await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  await handler.close();
  await service.close();
  await stack.stop();
  await pubsub.close();
  await firestore.terminate();
});

function tick(body: Record<string, string>, fireTime: string) {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'X-CloudScheduler-ScheduleTime': fireTime },
    body: JSON.stringify(body),
  });
}

describe('the schedulerTick function with its own engine', () => {
  it("launches a schedule's run through Cloud Run, and a tenant's schedule in that tenant", async () => {
    const definition = { cron: '0 3 * * *', jobName: 'nightly_sync', params: [{ a: 1 }] };
    await new Schedules(service).upsert({ ...definition, name: 'nightly' });
    const acme = service.forTenant('acme');
    await new Schedules(acme).upsert({ ...definition, name: 'nightly' });

    for (const [body, scoped] of [
      [{ scheduleName: 'nightly' }, service],
      [{ scheduleName: 'nightly', tenant: 'acme' }, acme],
    ] as const) {
      // A fire time after the schedule was created (before it, a schedule does not fire).
      const response = await tick(body, new Date(Date.now() + 60_000).toISOString());
      expect(response.status).toBe(200);
      const { results } = (await response.json()) as {
        results: { outcome: string; orchestrationId: string }[];
      };
      expect(results).toMatchObject([{ outcome: 'launched' }]);
      const orchestrationId = results[0]?.orchestrationId ?? '';
      expect(await scoped.getOrchestration(orchestrationId)).toMatchObject({
        jobName: 'nightly_sync',
        total: 1,
      });
      expect(
        stack.cloudRun.listExecutions().filter((e) => e.env.ORCHESTRATION_ID === orchestrationId),
      ).toHaveLength(1);
    }
  });
});
