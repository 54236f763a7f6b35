import { randomUUID } from 'node:crypto';

import {
  claimJob,
  completeJob,
  createStore,
  DEFAULTS,
  defaultJobPolicy,
  failJob,
  GrpcStatus,
  grpcCodeOf,
  type JobCompletedEvent,
  jobIdFor,
  type OrchestrationDoc,
  orchestrationDocSchema,
  parseDocument,
  parseJobCompletedEvent,
  registerOrchestration,
  type Store,
} from '@e11/core';
import {
  type FunctionsServer,
  type RegisteredTrigger,
  registerJobTrigger,
  type RouteFaults,
  startFunctionsServer,
} from '@e11/emulators';
import type { Message, PubSub, Subscription } from '@google-cloud/pubsub';
import { inject } from 'vitest';

import { emulatorClients, testProjectId } from './project.js';
import { waitForSnapshot } from './wait-for.js';

/** Messages of one subscription, in arrival order, with a way to wait for the next ones. */
export class MessageLog {
  readonly messages: Message[] = [];
  private waiters: (() => void)[] = [];

  constructor(readonly subscription: Subscription) {
    subscription.on('message', (message: Message) => {
      message.ack();
      this.messages.push(message);
      const waiters = this.waiters;
      this.waiters = [];
      for (const wake of waiters) wake();
    });
  }

  /** Resolves with the first message (from the start) matching `predicate`, waiting for it if needed. */
  async waitFor(predicate: (message: Message) => boolean, timeoutMs = 30_000): Promise<Message> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.find(predicate);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`No matching message within ${timeoutMs} ms.`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The JobCompletedEvents received so far for one orchestration. */
  eventsOf(orchestrationId: string): { event: JobCompletedEvent; attributes: Record<string, string> }[] {
    return this.messages
      .filter((message) => message.attributes.orchestrationId === orchestrationId)
      .map((message) => ({
        event: parseJobCompletedEvent(message.data),
        attributes: { ...message.attributes },
      }));
  }
}

/**
 * Publishes a sentinel on `topic` and resolves with the messages `log` received before it (see
 * {@link CompletionHarness.drainWithSentinel}).
 */
export async function drainWithSentinel(pubsub: PubSub, topic: string, log: MessageLog): Promise<Message[]> {
  const sentinel = randomUUID();
  await pubsub.topic(topic).publishMessage({ data: Buffer.from('sentinel'), attributes: { sentinel } });
  const arrived = await log.waitFor((message) => message.attributes.sentinel === sentinel);
  return log.messages.slice(0, log.messages.indexOf(arrived));
}

/** One test file's completion stack: its project, a Functions Framework server, its trigger, a topic. */
export interface CompletionHarness {
  projectId: string;
  store: Store;
  pubsub: PubSub;
  functions: FunctionsServer;
  trigger: RegisteredTrigger;
  topic: string;
  /** Every message published on `topic` since the harness started. */
  log: MessageLog;
  /**
   * Publishes a sentinel on the topic and resolves with the messages that arrived before it: once the
   * bridge is idle every event has been published, so nothing for the orchestration can come after.
   */
  drainWithSentinel(): Promise<Message[]>;
  close(): Promise<void>;
}

/** Starts a harness: own project id, functions server (port 0), trigger routed through the shared bridge. */
export async function startCompletionHarness(
  name: string,
  options: { faults?: RouteFaults; env?: Record<string, string>; topic?: string } = {},
): Promise<CompletionHarness> {
  const projectId = testProjectId(name);
  const { firestore, pubsub } = emulatorClients(projectId);
  const store = createStore({ firestore });
  const topic = options.topic ?? DEFAULTS.topic;
  await pubsub.createTopic(topic).catch((error: unknown) => {
    if (grpcCodeOf(error) !== GrpcStatus.ALREADY_EXISTS) throw error;
  });
  const [subscription] = await pubsub.topic(topic).createSubscription(`watch-${randomUUID().slice(0, 8)}`);
  const log = new MessageLog(subscription);
  const functions = await startFunctionsServer({
    env: {
      FIRESTORE_EMULATOR_HOST: inject('firestoreHost'),
      PUBSUB_EMULATOR_HOST: inject('pubsubHost'),
      E11_LOG_LEVEL: 'info',
      ...options.env,
    },
  });
  let trigger: RegisteredTrigger;
  try {
    trigger = await registerJobTrigger({
      firestoreHost: inject('firestoreHost'),
      bridgeUrl: inject('bridgeUrl'),
      projectId,
      target: functions.url,
      ...(options.faults ? { faults: options.faults } : {}),
    });
  } catch (error) {
    await functions.stop();
    throw error;
  }
  return {
    projectId,
    store,
    pubsub,
    functions,
    trigger,
    topic,
    log,
    drainWithSentinel: () => drainWithSentinel(pubsub, topic, log),
    close: async () => {
      await trigger.unroute().catch(() => undefined);
      await functions.stop();
      await subscription.close();
      await pubsub.close();
      await firestore.terminate();
    },
  };
}

const policy = defaultJobPolicy();

/** Registers an orchestration of `total` jobs the way kickOffJob does (without launching anything). */
export async function registerJobs(
  store: Store,
  total: number,
  options: { tags?: Record<string, string>; topic?: string; jobName?: string; orchestrationId?: string } = {},
): Promise<{ orchestrationId: string; jobIds: string[] }> {
  const orchestrationId = options.orchestrationId ?? randomUUID();
  const jobIds = Array.from({ length: total }, (_, index) => jobIdFor(orchestrationId, index));
  const jobName = options.jobName ?? 'sum_chunk';
  await registerOrchestration(store, {
    orchestration: {
      id: orchestrationId,
      jobName,
      service: jobName.replace(/_/g, '-'),
      tags: options.tags ?? {},
      tenant: null,
      topic: options.topic ?? DEFAULTS.topic,
      mode: 'per-job',
      policy,
      idempotencyKey: null,
      sensitiveKeys: [],
      deadlineAt: null,
    },
    params: jobIds.map((_, index) => ({ index })),
  });
  return { orchestrationId, jobIds };
}

/** Runs a pool of at most `concurrency` workers over `items`. */
async function pool<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T, index: number) => Promise<void>,
) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        await work(items[index] as T, index);
      }
    }),
  );
}

/**
 * Drives jobs like runners do, through the real store functions: claim, then complete — or fail
 * for the indices `fails` selects. All claims first, then all finishes, `concurrency` at a time.
 */
export async function runJobs(
  store: Store,
  orchestrationId: string,
  jobIds: readonly string[],
  options: { fails?: (index: number) => boolean; concurrency?: number } = {},
): Promise<void> {
  const concurrency = options.concurrency ?? 50;
  await pool(jobIds, concurrency, async (jobId) => {
    const claimed = await claimJob(store, {
      orchestrationId,
      jobId,
      maxAttempts: 1,
      heartbeatTimeoutMs: 60_000,
      claim: { id: jobId, executionName: null, taskIndex: null, taskAttempt: null },
    });
    if (claimed.outcome !== 'claimed') throw new Error(`claim of ${jobId}: ${claimed.outcome}`);
  });
  await pool(jobIds, concurrency, async (jobId, index) => {
    const owned = { orchestrationId, jobId, claimId: jobId };
    const outcome = options.fails?.(index)
      ? await failJob(store, {
          ...owned,
          outcome: 'Errored',
          final: true,
          deadLettered: true,
          error: {
            message: 'boom',
            code: 'E11_JOB_FAILED',
            name: 'Error',
            stack: null,
            jobName: 'sum_chunk',
            orchestrationId,
            jobId,
            attempt: 1,
            retryable: false,
          },
        })
      : await completeJob(store, { ...owned, result: { index } });
    if (outcome !== 'recorded') throw new Error(`finish of ${jobId}: ${outcome}`);
  });
}

/**
 * Trigger events one job produces when driven by {@link runJobs}: claim (which creates the job's
 * document) and finish. Registration writes no job document, so it delivers none.
 */
export const EVENTS_PER_JOB = 2;

/**
 * Resolves with the orchestration document once `predicate` holds (a listener, with a re-read every
 * 2 s): the event is published before its marker and the orchestration record it, so a subscriber can
 * see the event a moment before `eventPending` turns false.
 */
export function waitForOrchestration(
  store: Store,
  orchestrationId: string,
  predicate: (doc: OrchestrationDoc) => boolean,
  timeoutMs = 20_000,
): Promise<OrchestrationDoc> {
  return waitForSnapshot(
    store.collections.orchestration(orchestrationId),
    (snapshot) => {
      if (!snapshot.exists) return undefined;
      const doc = parseDocument(orchestrationDocSchema, snapshot);
      return predicate(doc) ? doc : undefined;
    },
    { what: `orchestration ${orchestrationId} reaching the expected state`, timeoutMs },
  );
}
