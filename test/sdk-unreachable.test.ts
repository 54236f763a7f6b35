import { createFirestore, isE11Error } from '@e11/core';
import { freePort } from '@e11/emulators';
import { OrchestrationService, Schedules } from '@e11/sdk';
import { afterAll, describe, expect, it } from 'vitest';

import { testProjectId } from './helpers/project.js';
import { RecordingLauncher } from './helpers/recording-launcher.js';
import { rejection } from './helpers/rejection.js';

const projectId = testProjectId('sdk-unreachable');
const firestore = createFirestore({ projectId, emulatorHost: `127.0.0.1:${await freePort()}` });
const service = new OrchestrationService({ projectId, firestore, launcher: new RecordingLauncher() });

afterAll(async () => {
  await service.close();
  await firestore.terminate();
});

describe('an SDK read when Firestore cannot be reached', () => {
  it('rejects with E11_UNAVAILABLE, a hint and the gRPC error as cause, not a raw gRPC error', async () => {
    // All at once: each waits out the Firestore client's own retries (about 45 s).
    const errors = await Promise.all([
      rejection(new Schedules(service).list()),
      rejection(service.getOrchestration('unreachable-1')),
      rejection(service.listJobs('unreachable-1')),
      rejection(service.getJobResults('unreachable-1')),
      rejection(service.listPipelines()),
    ]);
    for (const error of errors) {
      expect(isE11Error(error, 'E11_UNAVAILABLE')).toBe(true);
      expect(error).toMatchObject({ retryable: true, context: { grpcCode: 14 } });
      expect(error.message).toMatch(/^Firestore: UNAVAILABLE: /);
      expect(error.context.hint).toContain('FIRESTORE_EMULATOR_HOST');
      expect(error.cause).toMatchObject({ code: 14 });
    }
  }, 120_000);
});
