import { fileURLToPath } from 'node:url';

import { createFirestore, type JobCompletedEvent } from '@e11/core';
import { createPubSub } from '@e11/core/engine';
import { type Stack, startStack } from '@e11/emulators';
import type { OrchestrationService } from '@e11/sdk';
import { subscribeToJobCompleted } from '@e11/sdk';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { stackService, suiteEmulators, testProjectId } from './helpers/project.js';

/**
 * The seed's flow end to end through public APIs only: kickOffJob → Cloud Run (the local emulator runs
 * real runner processes) → Firestore → the onJobWritten function (Functions Framework, fed by the
 * Firestore trigger) → one JobCompletedEvent on Pub/Sub → getJobResults.
 */
const ENTRYPOINT = fileURLToPath(new URL('./fixtures/dist/runner-entrypoint.js', import.meta.url));
const projectId = testProjectId('e2e-flow');
const TOPIC = 'e2e-job-completed';
let stack: Stack;
let orchestrations: OrchestrationService;
const firestore = createFirestore({ projectId, emulatorHost: inject('firestoreHost') });
const pubsub = createPubSub({ projectId, emulatorHost: inject('pubsubHost') });
const events: JobCompletedEvent[] = [];
const waiters = new Map<string, (event: JobCompletedEvent) => void>();
let subscription: { close(): Promise<void> };

beforeAll(async () => {
  stack = await startStack({
    projectId,
    attach: suiteEmulators(),
    cloudRun: {
      jobs: {
        'add-numbers': { command: 'node', args: [ENTRYPOINT], maxRetries: 0 },
        validated: { command: 'node', args: [ENTRYPOINT], maxRetries: 0 },
      },
    },
    cloudRunOptions: { maxConcurrentTasks: 4 },
    topics: [TOPIC],
    sweepIntervalMs: 0,
  });
  orchestrations = stackService(
    stack,
    { projectId, firestore, pubsub, defaultTopic: TOPIC },
    { launch: { ratePerMinute: 100_000, concurrency: 20 } },
  );
  subscription = await subscribeToJobCompleted(pubsub, { topic: TOPIC }, (event) => {
    events.push(event);
    waiters.get(event.orchestrationId)?.(event);
    return Promise.resolve();
  });
});

afterAll(async () => {
  await subscription.close();
  await orchestrations.close();
  await stack.stop();
  await pubsub.close();
  await firestore.terminate();
});

function eventFor(orchestrationId: string): Promise<JobCompletedEvent> {
  const seen = events.find((event) => event.orchestrationId === orchestrationId);
  return seen ? Promise.resolve(seen) : new Promise((resolve) => waiters.set(orchestrationId, resolve));
}

describe('the whole flow on the local stack', () => {
  it('runs 1 job and announces its end with one event', async () => {
    const { orchestrationId, jobIds } = await orchestrations.kickOffJob('add_numbers', [{ a: 20, b: 22 }], {
      tags: { customerId: 'acme' },
    });
    const event = await eventFor(orchestrationId);
    expect(event).toMatchObject({
      status: 'Completed',
      total: 1,
      succeeded: 1,
      failed: 0,
      tags: { customerId: 'acme' },
    });
    const [successes, failures] = await orchestrations.getJobResults(orchestrationId);
    expect(successes).toEqual([
      { jobId: jobIds[0], index: 0, params: { a: 20, b: 22 }, result: { sum: 42 } },
    ]);
    expect(failures).toBeNull();
    expect((await orchestrations.getOrchestration(orchestrationId)).counts).toMatchObject({ completed: 1 });
  });

  it(
    'runs 200 jobs with failures, gives exactly one event and the right partition',
    { timeout: 240_000 },
    async () => {
      // Every 25th parameter set fails the job class's schema (a bad e-mail): those jobs end Errored.
      const params = Array.from({ length: 200 }, (_, i) => ({
        count: i,
        owner: { email: i % 25 === 7 ? `not-an-email-${i}` : `owner${i}@example.com` },
      }));
      const started = performance.now();
      const { orchestrationId, jobIds } = await orchestrations.kickOffJob('validated', params, {
        tags: { customerId: 'globex', batch: 'b200' },
      });
      const event = await eventFor(orchestrationId);
      const seconds = Math.round((performance.now() - started) / 100) / 10;
      expect(event).toMatchObject({
        status: 'Errored',
        total: 200,
        succeeded: 192,
        failed: 8,
        tags: { customerId: 'globex', batch: 'b200' },
      });
      const [successes, failures] = await orchestrations.getJobResults<number, (typeof params)[number]>(
        orchestrationId,
      );
      expect(successes).toHaveLength(192);
      for (const success of successes) expect(success.result).toBe(success.params.count * 2);
      expect(failures).toHaveLength(8);
      expect(failures?.map((f) => f.index)).toEqual([7, 32, 57, 82, 107, 132, 157, 182]);
      for (const failure of failures ?? []) {
        expect(failure).toMatchObject({
          jobId: jobIds[failure.index],
          jobName: 'validated',
          orchestrationId,
          params: params[failure.index],
          error: { code: 'E11_VALIDATION_FAILED' },
        });
        expect(failure.error.message).toMatch(/owner\.email/);
      }
      expect((await orchestrations.getOrchestration(orchestrationId)).counts).toEqual({
        pending: 0,
        inProgress: 0,
        completed: 192,
        errored: 8,
        cancelled: 0,
      });

      // Exactly one event per orchestration end: once every trigger delivery has settled, no more arrive.
      await stack.trigger.waitForIdle({ timeoutMs: 60_000 });
      const sentinel = `sentinel-${Date.now()}`;
      const sentinelSeen = new Promise<void>((resolve) => waiters.set(sentinel, () => resolve()));
      await pubsub
        .topic(TOPIC)
        .publishMessage({ json: { ...event, orchestrationId: sentinel, eventId: `${sentinel}:1` } });
      await sentinelSeen;
      expect(events.filter((e) => e.orchestrationId === orchestrationId)).toHaveLength(1);
      console.log(
        `[e2e] 200 jobs in ${seconds} s, 192 completed, 8 failed, events for this end = 1, lost = 0`,
      );
    },
  );
});
