import { defineConfig } from 'vitest/config';

// The chaos soak (`npm run chaos`): the same global setup as the suite (Firestore and Pub/Sub
// emulators, trigger bridge), one long test file, nothing else.
export default defineConfig({
  test: {
    include: ['test/chaos/soak.chaos.ts'],
    globalSetup: ['test/global-setup.ts'],
    // The Cloud Run region of the services the soak creates (the emulator serves any), and schedules
    // fired by the local scheduler.
    env: { E11_REGION: 'us-central1', E11_SCHEDULE_TICKER: 'external' },
    pool: 'forks',
    maxWorkers: 1,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 30_000,
  },
});
