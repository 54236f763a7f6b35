import { fileURLToPath } from 'node:url';

import { type JobCompletedEvent, readCounts } from '@e11/core';
import type { SweepOptions } from '@e11/core/engine';
import { type Stack, type StackOptions, startStack } from '@e11/emulators';
import type { OrchestrationService, OrchestrationServiceOptions } from '@e11/sdk';
import { afterAll, beforeAll } from 'vitest';

import { CompletedEvents } from './completed-events.js';
import { emulatorClients, stackService, storeFor, suiteEmulators, testProjectId } from './project.js';

const ENTRYPOINT = fileURLToPath(new URL('../fixtures/dist/runner-entrypoint.js', import.meta.url));

/** A test file's local stack whose Cloud Run jobs run the real runner with the fixture job classes. */
export interface RunnerStack {
  readonly projectId: string;
  readonly clients: ReturnType<typeof emulatorClients>;
  /** The file's service options: its project, clients and topic (for more services than `service`). */
  readonly base: Parameters<typeof stackService>[1];
  readonly completed: CompletedEvents;
  stack: Stack;
  service: OrchestrationService;
}

/**
 * Registers the hooks of a test file that runs `cloudRunJobs` (Cloud Run job ids) on the real runner:
 * the stack (its own project, the suite's emulators, a topic subscribed by `completed`, no sweeper
 * timer: the file runs its sweeps, with `sweepOptions`), one service with `service` options, and their
 * clean-up. Fields are set once `beforeAll` ran.
 */
export function useRunnerStack(
  name: string,
  options: {
    cloudRunJobs: string[];
    sweepOptions?: SweepOptions;
    service?: OrchestrationServiceOptions;
    cloudRunOptions?: StackOptions['cloudRunOptions'];
    /** Cloud Run's retries of a failed task attempt, for every job. @default 0 */
    maxRetries?: number;
    /** The stack's sweeper timer. @default 0 (off: the file runs its sweeps) */
    sweepIntervalMs?: number;
    /** The stack's pipelines module (E11_PIPELINES_MODULE of the functions and the sweeper). */
    pipelinesModule?: string;
    /** The task entrypoint the Cloud Run jobs run. @default the fixture runner entrypoint */
    entrypoint?: string;
  },
): RunnerStack {
  const projectId = testProjectId(name);
  const clients = emulatorClients(projectId);
  const topic = `${name}-completed`;
  const suite = {
    projectId,
    clients,
    base: { projectId, ...clients, defaultTopic: topic },
    completed: new CompletedEvents(),
  } as RunnerStack;
  beforeAll(async () => {
    suite.stack = await startStack({
      projectId,
      attach: suiteEmulators(),
      cloudRun: {
        jobs: Object.fromEntries(
          options.cloudRunJobs.map((id) => [
            id,
            {
              command: 'node',
              args: [options.entrypoint ?? ENTRYPOINT],
              maxRetries: options.maxRetries ?? 0,
            },
          ]),
        ),
      },
      topics: [topic],
      sweepIntervalMs: options.sweepIntervalMs ?? 0,
      ...(options.cloudRunOptions ? { cloudRunOptions: options.cloudRunOptions } : {}),
      ...(options.sweepOptions ? { sweepOptions: options.sweepOptions } : {}),
      ...(options.pipelinesModule ? { pipelinesModule: options.pipelinesModule } : {}),
    });
    suite.service = stackService(suite.stack, suite.base, options.service);
    await suite.completed.subscribe(clients.pubsub, topic);
  });
  afterAll(async () => {
    await suite.completed.close();
    await suite.service?.close();
    await suite.stack?.stop();
    await clients.pubsub.close();
    await clients.firestore.terminate();
  });
  return suite;
}

/**
 * The event of `orchestrationId` (of its `epoch`), or a failure after `ms` that says where the
 * orchestration stood.
 */
export async function eventWithin(
  suite: RunnerStack,
  orchestrationId: string,
  ms: number,
  epoch = 1,
): Promise<JobCompletedEvent> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const store = storeFor(suite.clients.firestore);
      void Promise.all([
        readCounts(store, orchestrationId),
        store.collections.orchestration(orchestrationId).get(),
      ]).then(
        ([counts, doc]) =>
          reject(
            new Error(
              `no event within ${ms} ms: counts ${JSON.stringify(counts)}, admitted ${String(doc.get('admitted'))}`,
            ),
          ),
        (error: unknown) => reject(error as Error),
      );
    }, ms);
  });
  try {
    return await Promise.race([suite.completed.eventFor(orchestrationId, epoch), late]);
  } finally {
    clearTimeout(timer);
  }
}
