import { fileURLToPath } from 'node:url';

import { defineConfig } from 'vitest/config';

import { LongestFirstSequencer } from './test/sequencer.js';

// Node's on-disk compile cache for every process of the run: the test workers (one per file), and
// what they start (CLI and backend processes, the functions server) inherit it, and each starts
// faster after the first has compiled the same modules. A cache the caller set is kept.
process.env.NODE_COMPILE_CACHE ??= fileURLToPath(
  new URL('node_modules/.cache/e11-node-compile-cache', import.meta.url),
);

// One test run for the whole repository. The global setup starts the Firestore and Pub/Sub
// emulators once (through firebase-tools, offline) and stops them at the end; every test file
// isolates its data by using its own project id (see test/helpers).
export default defineConfig({
  test: {
    include: [
      'packages/*/src/**/*.test.ts',
      'emulators/src/**/*.test.ts',
      'examples/src/**/*.test.ts',
      'test/**/*.test.ts',
    ],
    globalSetup: ['test/global-setup.ts'],
    // The Cloud Run region of the services tests create (the Cloud Run emulator serves any; there is
    // no default region), and schedules fired by the tests' own ticks or a stack's local scheduler.
    env: { E11_REGION: 'us-central1', E11_SCHEDULE_TICKER: 'external' },
    pool: 'forks',
    maxWorkers: 2,
    // Longest files first (by the committed test/durations.json), also in a fresh clone.
    sequence: { sequencer: LongestFirstSequencer },
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 30_000,
  },
});
