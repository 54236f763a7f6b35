import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';

import { createFirestore } from '@e11/core';
import { createPubSub } from '@e11/core/engine';
import { type Stack, startStack } from '@e11/emulators';
import { OrchestrationService } from '@e11/sdk';
import type { Firestore } from '@google-cloud/firestore';
import type { Message, PubSub, Subscription } from '@google-cloud/pubsub';

import { pipelines } from '../fixtures/src/chaos-pipelines.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

import type { ChaosConfig } from './chaos-config.js';

const ENTRYPOINT = fileURLToPath(new URL('../fixtures/dist/runner-entrypoint.js', import.meta.url));
const PIPELINES_MODULE = fileURLToPath(new URL('../fixtures/dist/chaos-pipelines.js', import.meta.url));

/** The Cloud Run job the chaos orchestrations run on, and its job name. */
export const CHAOS_SERVICE = 'chaos-work';
export const CHAOS_JOB = 'chaos_work';

/** The emulators a chaos run attaches to (the suite's, see test/helpers/project.ts `suiteEmulators`). */
export interface ChaosEmulators {
  firestoreHost: string;
  pubsubHost: string;
  bridgeUrl: string;
}

/** The stack under test plus what the faults act on and what the invariants read. */
export interface ChaosStack {
  readonly projectId: string;
  readonly topic: string;
  readonly emulators: ChaosEmulators;
  readonly stack: Stack;
  /** The test process's own backend. */
  readonly service: OrchestrationService;
  readonly firestore: Firestore;
  readonly pubsub: PubSub;
  /** Every task process reaches Firestore through this proxy (the ledger excepted). */
  readonly firestoreProxy: TcpProxy;
  /** The functions server reaches Pub/Sub through this proxy. */
  readonly pubsubProxy: TcpProxy;
  /** The ledger collection the chaos jobs write, one document per attempt. */
  readonly ledgerCollection: string;
  /** Every message published on the topic since the stack started (before any de-duplication). */
  readonly messages: Message[];
  /** The environment a backend child process needs to reach the stack. */
  readonly backendEnv: Record<string, string>;
  close(): Promise<void>;
}

function proxyTo(hostPort: string): TcpProxy {
  const [host = '127.0.0.1', port = '0'] = hostPort.split(':');
  return new TcpProxy({ host, port: Number(port) });
}

/**
 * Starts the local stack for a chaos run on the given emulators: the functions server with its
 * Pub/Sub behind a proxy, the Cloud Run emulator running real runner processes whose Firestore is
 * behind another proxy, a sweeper with short grace periods, and a subscription created before any
 * work so that every published message is counted.
 */
export async function startChaosStack(
  projectId: string,
  emulators: ChaosEmulators,
  config: ChaosConfig,
): Promise<ChaosStack> {
  const topic = 'chaos-completed';
  const ledgerCollection = 'chaos_ledger';
  const firestoreProxy = proxyTo(emulators.firestoreHost);
  const pubsubProxy = proxyTo(emulators.pubsubHost);
  await firestoreProxy.start();
  await pubsubProxy.start();
  const firestore = createFirestore({ projectId, emulatorHost: emulators.firestoreHost });
  const pubsub = createPubSub({ projectId, emulatorHost: emulators.pubsubHost });
  const closers: (() => Promise<unknown>)[] = [
    () => firestoreProxy.stop(),
    () => pubsubProxy.stop(),
    () => firestore.terminate(),
    () => pubsub.close(),
  ];
  const closeAll = async () => {
    for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
  };
  try {
    const stack = await startStack({
      projectId,
      attach: emulators,
      cloudRun: {
        jobs: {
          [CHAOS_SERVICE]: {
            command: process.execPath,
            args: [ENTRYPOINT],
            maxRetries: 1,
            env: {
              FIRESTORE_EMULATOR_HOST: firestoreProxy.hostPort,
              E11_CHAOS_LEDGER_HOST: emulators.firestoreHost,
              E11_CHAOS_LEDGER_COLLECTION: ledgerCollection,
            },
          },
        },
      },
      cloudRunOptions: { maxConcurrentTasks: config.maxConcurrentTasks, killGraceMs: 1_000 },
      topics: [topic],
      functionsEnv: { PUBSUB_EMULATOR_HOST: pubsubProxy.hostPort, E11_LOG_LEVEL: 'warn' },
      pipelinesModule: PIPELINES_MODULE,
      sweepIntervalMs: 1_000,
      sweepOptions: { pendingTimeoutMs: 8_000, requeueGraceMs: 1_000, completionGraceMs: 4_000 },
      schedulerIntervalMs: 0,
    });
    closers.push(() => stack.stop());
    const [subscription]: [Subscription, ...unknown[]] = await pubsub
      .topic(topic)
      .createSubscription(`chaos-audit-${randomUUID().slice(0, 8)}`);
    const messages: Message[] = [];
    subscription.on('message', (message: Message) => {
      message.ack();
      messages.push(message);
    });
    // The streaming pull reconnects by itself; an error here is the emulator's, not the product's.
    subscription.on('error', () => undefined);
    closers.push(() => subscription.close());
    const service = new OrchestrationService({
      projectId,
      firestore,
      pubsub,
      defaultTopic: topic,
      cloudRunEndpoint: stack.cloudRun.endpoint,
      serviceName: { [CHAOS_JOB]: CHAOS_SERVICE },
      launch: { ratePerMinute: 100_000 },
      pipelines,
    });
    closers.push(() => service.close());
    return {
      projectId,
      topic,
      emulators,
      stack,
      service,
      firestore,
      pubsub,
      firestoreProxy,
      pubsubProxy,
      ledgerCollection,
      messages,
      backendEnv: {
        GOOGLE_CLOUD_PROJECT: projectId,
        FIRESTORE_EMULATOR_HOST: emulators.firestoreHost,
        PUBSUB_EMULATOR_HOST: emulators.pubsubHost,
        E11_CLOUD_RUN_EMULATOR_HOST: stack.cloudRun.endpoint,
      },
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
