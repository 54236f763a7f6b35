// @e11/emulators/testing — start the local stack around your own test suite.
import { type Stack, type StackOptions, startStack } from './stack.js';

/** A started stack plus the teardown that undoes {@link setupStack}. */
export interface StackSetup {
  readonly stack: Stack;
  /** Stops the stack and restores the environment variables it set; single-flight. */
  readonly teardown: () => Promise<void>;
}

/**
 * Starts the local stack and copies `stack.env` (FIRESTORE_EMULATOR_HOST, PUBSUB_EMULATOR_HOST,
 * E11_CLOUD_RUN_EMULATOR_HOST, GOOGLE_CLOUD_PROJECT, …) into `process.env`, so that clients created
 * afterwards in this process — and processes it starts afterwards, such as test workers — use the stack.
 * `teardown()` stops the stack and puts the previous values back.
 */
export async function setupStack(options: StackOptions): Promise<StackSetup> {
  const stack = await startStack(options);
  const previous = new Map<string, string | undefined>();
  for (const [name, value] of Object.entries(stack.env)) {
    previous.set(name, process.env[name]);
    process.env[name] = value;
  }
  let stopping: Promise<void> | undefined;
  const teardown = () =>
    (stopping ??= (async () => {
      try {
        await stack.stop();
      } finally {
        for (const [name, value] of previous) {
          if (value === undefined) delete process.env[name];
          else process.env[name] = value;
        }
      }
    })());
  return { stack, teardown };
}

/**
 * A vitest `globalSetup` function: `export default stackGlobalSetup({ cloudRun: './cloud-run.json' })`
 * in the global setup file starts the stack once before the test files run (their worker processes
 * inherit `stack.env`) and stops it after the last one.
 */
export function stackGlobalSetup(options: StackOptions): () => Promise<() => Promise<void>> {
  return async () => {
    const { teardown } = await setupStack(options);
    return teardown;
  };
}
