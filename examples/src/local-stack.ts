// What the demo and the feature examples share: where this package lives, how they start the local
// stack with the example jobs, the backend's OrchestrationService on it, and a bounded wait.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { createFirestore } from '@e11/core';
import { createPubSub } from '@e11/core/engine';
import { type Stack, startStack, type StackOptions } from '@e11/emulators';
import { OrchestrationService } from '@e11/sdk';

import { pipelines } from './pipelines.js';

/** The examples package's folder (cloud-run.json, data/, dist/). */
export const EXAMPLES_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The stack options of the examples: the Cloud Run jobs of cloud-run.json and the demo's pipelines. */
export function exampleStackOptions(): Pick<StackOptions, 'cloudRun' | 'pipelinesModule'> {
  return {
    cloudRun: join(EXAMPLES_DIR, 'cloud-run.json'),
    // Where the functions find the pipelines whose next stages they start.
    pipelinesModule: join(EXAMPLES_DIR, 'dist', 'pipelines.js'),
  };
}

/**
 * Starts the local stack (default ports: firebase.json and the E11_*_PORT variables) with the example
 * jobs; with `traceDir`, its tasks and functions write their spans there.
 */
export function startExampleStack(onStatus?: (line: string) => void, traceDir?: string): Promise<Stack> {
  return startStack({ ...exampleStackOptions(), onStatus, ...(traceDir === undefined ? {} : { traceDir }) });
}

/** A backend on the stack: its Firestore and Pub/Sub clients and the OrchestrationService. */
export interface ExampleBackend {
  readonly stack: Stack;
  readonly firestore: ReturnType<typeof createFirestore>;
  readonly pubsub: ReturnType<typeof createPubSub>;
  readonly orchestrations: OrchestrationService;
  /** Closes the service and the clients (not the stack). */
  close(): Promise<void>;
}

/** Connects a backend to the stack as a service in production would be configured, pointed at the emulators. */
export function connectBackend(stack: Stack): ExampleBackend {
  const { projectId } = stack;
  const firestore = createFirestore({ projectId, emulatorHost: stack.env.FIRESTORE_EMULATOR_HOST });
  const pubsub = createPubSub({ projectId, emulatorHost: stack.env.PUBSUB_EMULATOR_HOST });
  const orchestrations = new OrchestrationService({
    projectId,
    firestore,
    pubsub,
    cloudRunEndpoint: stack.cloudRun.endpoint,
    region: stack.env.E11_REGION,
    launch: { ratePerMinute: 6_000 },
    // The same pipelines the functions deployment loads (the stack's `pipelinesModule`).
    pipelines,
  });
  return {
    stack,
    firestore,
    pubsub,
    orchestrations,
    async close() {
      await orchestrations.close();
      await pubsub.close();
      await firestore.terminate();
    },
  };
}

/** Writes one line to stdout. */
export const say = (line = '') => process.stdout.write(`${line}\n`);

/** `promise`, or an error saying `what` did not happen within `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms / 1000} s`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/** A feature example: runs against a backend on the stack and returns what it shows (for the tests). */
export type Example<T> = (backend: ExampleBackend) => Promise<T>;

/** True when the module at `moduleUrl` is the script node was started with. */
function isMain(moduleUrl: string): boolean {
  const script = process.argv[1];
  return script !== undefined && resolve(script) === fileURLToPath(moduleUrl);
}

/**
 * Runs `example` when its module is the script node was started with (`node examples/dist/features/…`):
 * starts the local stack, connects a backend, prints the outcome, stops everything and exits 0 (or 1
 * with the error). Imported (by the tests), it does nothing.
 */
export async function runIfMain<T>(moduleUrl: string, example: Example<T>): Promise<void> {
  if (!isMain(moduleUrl)) return;
  const stack = await startExampleStack((line) => say(`  ${line}`)).catch((error: unknown) => {
    process.stderr.write(`e11 example: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
  const backend = connectBackend(stack);
  let code = 1;
  try {
    const outcome = await example(backend);
    say(`\n▶ outcome\n${JSON.stringify(outcome, null, 2)}`);
    code = 0;
  } catch (error) {
    process.stderr.write(`e11 example: ${error instanceof Error ? error.message : String(error)}\n`);
  } finally {
    await backend.close();
    await stack.stop();
  }
  process.exit(code);
}
