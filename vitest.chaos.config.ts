import { defineConfig } from 'vitest/config';

// The chaos soak (`npm run chaos`): the same global setup as the suite (Firestore and Pub/Sub
// emulators, trigger bridge), one long test file, nothing else.
export default defineConfig({
  test: {
    include: ['test/chaos/soak.chaos.ts'],
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    maxWorkers: 1,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 30_000,
  },
});
