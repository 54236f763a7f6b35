import { fileURLToPath } from 'node:url';

import { createFirestore, createStore, ErrorCode, readCounts } from '@e11/core';
import { createPubSub } from '@e11/core/engine';
import { type Stack, startStack } from '@e11/emulators';
import { createRunnerLogger, executeJob, ExitCode } from '@e11/runner';
import { OrchestrationService } from '@e11/sdk';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { CompletedEvents } from './helpers/completed-events.js';
import { suiteEmulators, testProjectId } from './helpers/project.js';

/**
 * E11 on a named Firestore database, end to end on the local stack: the SDK registers and launches in
 * it, the Cloud Run task's runner claims and finishes there (its task env names the database), the
 * emulator's trigger for that database reaches onJobWritten (Functions Framework), which checks
 * completion in the same database and publishes the one JobCompletedEvent. The project's `(default)`
 * database stays empty: nothing of the flow is written there.
 */
const ENTRYPOINT = fileURLToPath(new URL('./fixtures/dist/runner-entrypoint.js', import.meta.url));
const DATABASE = 'e11-jobs';
const TOPIC = 'named-db-completed';
const projectId = testProjectId('named-db');
const firestoreHost = inject('firestoreHost');
const named = createFirestore({ projectId, emulatorHost: firestoreHost, databaseId: DATABASE });
const defaultDb = createFirestore({ projectId, emulatorHost: firestoreHost });
const pubsub = createPubSub({ projectId, emulatorHost: inject('pubsubHost') });
const events = new CompletedEvents();
let stack: Stack;
let orchestrations: OrchestrationService;

beforeAll(async () => {
  stack = await startStack({
    projectId,
    databaseId: DATABASE,
    attach: suiteEmulators(),
    cloudRun: { jobs: { 'add-numbers': { command: 'node', args: [ENTRYPOINT], maxRetries: 0 } } },
    topics: [TOPIC],
    sweepIntervalMs: 0,
    schedulerIntervalMs: 0,
  });
  orchestrations = new OrchestrationService({
    projectId,
    databaseId: DATABASE,
    firestore: named,
    pubsub,
    defaultTopic: TOPIC,
    cloudRunEndpoint: stack.cloudRun.endpoint,
  });
  await events.subscribe(pubsub, TOPIC);
});

afterAll(async () => {
  await events.close();
  await orchestrations.close();
  await stack.stop();
  await pubsub.close();
  await named.terminate();
  await defaultDb.terminate();
});

describe('a named Firestore database', () => {
  it('runs the whole flow in it (kick-off, task, trigger, event) and leaves (default) untouched', async () => {
    expect(named.databaseId).toBe(DATABASE);
    const { orchestrationId, jobIds } = await orchestrations.kickOffJob('add_numbers', [
      { a: 1, b: 2 },
      { a: 40, b: 2 },
    ]);
    const event = await events.eventFor(orchestrationId);
    expect(event).toMatchObject({ orchestrationId, status: 'Completed', total: 2, succeeded: 2, failed: 0 });
    const [successes, failures] = await orchestrations.getJobResults(orchestrationId);
    expect(successes.map((s) => s.result)).toEqual([{ sum: 3 }, { sum: 42 }]);
    expect(failures).toBeNull();

    // The tasks were told the database in their env (the launch override, not just the stack's env).
    const executions = stack.cloudRun
      .listExecutions()
      .filter((e) => e.env.ORCHESTRATION_ID === orchestrationId);
    expect(executions).toHaveLength(2);
    for (const execution of executions) expect(execution.env.E11_FIRESTORE_DATABASE).toBe(DATABASE);

    // Everything lives in the named database: the runners' job documents, the counters, the marker.
    const store = createStore({ firestore: named, collectionPrefix: stack.collectionPrefix });
    const jobs = await store.collections.jobs(orchestrationId).get();
    expect(jobs.docs.map((doc) => `${doc.id} ${String(doc.get('status'))}`).sort()).toEqual(
      jobIds.map((id) => `${id} Completed`).sort(),
    );
    expect(await readCounts(store, orchestrationId)).toMatchObject({ completed: 2, errored: 0 });
    expect((await store.collections.completions(orchestrationId).get()).size).toBe(1);
    // The trigger that fired was the named database's: the function acknowledged its deliveries.
    const trigger = await stack.trigger.waitForIdle({ minReceived: 2 });
    expect(stack.trigger.databaseId).toBe(DATABASE);
    expect(trigger.failed).toBe(0);
    expect(trigger.delivered).toBeGreaterThanOrEqual(2);

    // The project's (default) database has not a single collection.
    expect((await defaultDb.listCollections()).map((c) => c.id)).toEqual([]);
    const onDefault = new OrchestrationService({
      projectId,
      firestore: defaultDb,
      pubsub,
      defaultTopic: TOPIC,
      cloudRunEndpoint: stack.cloudRun.endpoint,
    });
    try {
      await expect(onDefault.getOrchestration(orchestrationId)).rejects.toMatchObject({
        code: ErrorCode.UnknownOrchestration,
      });
    } finally {
      await onDefault.close();
    }
  });

  it('ends a task whose Firestore client is not of the database its env names, before reading anything', async () => {
    const lines: string[] = [];
    const result = await executeJob({
      classes: [],
      firestore: defaultDb,
      env: {
        JOB_NAME: 'add_numbers',
        ORCHESTRATION_ID: 'o-elsewhere',
        JOB_ID: 'j1',
        E11_FIRESTORE_DATABASE: DATABASE,
      },
      logger: createRunnerLogger({ write: (line) => lines.push(line) }),
    });
    expect(result).toMatchObject({ exitCode: ExitCode.Config, outcome: 'invalid' });
    expect(lines.join('')).toContain(
      `E11_FIRESTORE_DATABASE is ${DATABASE} but the runner's Firestore client uses (default).`,
    );
    expect((await defaultDb.listCollections()).map((c) => c.id)).toEqual([]);
  });

  it("refuses a databaseId that is not the given client's, or not a Firestore database id, before any I/O", () => {
    let refused: unknown;
    try {
      new OrchestrationService({ projectId, databaseId: 'other-db', firestore: named });
    } catch (error) {
      refused = error;
    }
    expect(refused).toMatchObject({ code: ErrorCode.InvalidOptions });
    expect(String(refused)).toContain('other-db');
    for (const bad of ['E11', 'e11', 'e11-', '1abc', '']) {
      expect(() => createFirestore({ projectId, emulatorHost: firestoreHost, databaseId: bad })).toThrow(
        expect.objectContaining({ code: ErrorCode.InvalidOptions }),
      );
    }
  });
});
