import { createServer } from 'node:net';

import { createFirestore, isE11Error } from '@e11/core';
import { OrchestrationService, Schedules } from '@e11/sdk';
import { afterAll, describe, expect, it } from 'vitest';

import { testProjectId } from './helpers/project.js';
import { RecordingLauncher } from './helpers/recording-launcher.js';

/** A local port nothing listens on: bound once to get a free number, then closed. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  return port;
}

const projectId = testProjectId('sdk-unreachable');
const firestore = createFirestore({ projectId, emulatorHost: `127.0.0.1:${await deadPort()}` });
const service = new OrchestrationService({ projectId, firestore, launcher: new RecordingLauncher() });

afterAll(async () => {
  await service.close();
  await firestore.terminate();
});

/** What a call rejected with. */
async function rejection(call: () => Promise<unknown>): Promise<unknown> {
  try {
    await call();
  } catch (thrown) {
    return thrown;
  }
  throw new Error('expected the call to reject');
}

describe('an SDK read when Firestore cannot be reached', () => {
  it('rejects with E11_UNAVAILABLE, a hint and the gRPC error as cause, not a raw gRPC error', async () => {
    // All at once: each waits out the Firestore client's own retries (about 45 s).
    const errors = await Promise.all([
      rejection(() => new Schedules(service).list()),
      rejection(() => service.getOrchestration('unreachable-1')),
      rejection(() => service.listJobs('unreachable-1')),
      rejection(() => service.getJobResults('unreachable-1')),
      rejection(() => service.listPipelines()),
    ]);
    for (const error of errors) {
      expect(isE11Error(error, 'E11_UNAVAILABLE')).toBe(true);
      expect(error).toMatchObject({ retryable: true, context: { grpcCode: 14 } });
      expect((error as Error).message).toMatch(/^Firestore: UNAVAILABLE: /);
      expect((error as { context: { hint: string } }).context.hint).toContain('FIRESTORE_EMULATOR_HOST');
      expect((error as Error).cause).toMatchObject({ code: 14 });
    }
  }, 120_000);
});
