import { createFirestore } from '@e11/core';
import { createPubSub } from '@e11/core/engine';
import { type CloudRunEmulator, startCloudRunEmulator } from '@e11/emulators';
import { CloudRunTaskService, OrchestrationService } from '@e11/sdk';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { testProjectId } from './helpers/project.js';

const projectId = testProjectId('launch-cancel');
const firestore = createFirestore({ projectId, emulatorHost: inject('firestoreHost') });
const pubsub = createPubSub({ projectId, emulatorHost: inject('pubsubHost') });
let emulator: CloudRunEmulator;
let service: OrchestrationService;

beforeAll(async () => {
  await pubsub.createTopic('e11-job-completed');
  emulator = await startCloudRunEmulator({
    config: { jobs: { quick: { command: process.execPath, args: ['-e', ''], maxRetries: 0 } } },
    killGraceMs: 500,
  });
  service = new OrchestrationService({
    projectId,
    firestore,
    pubsub,
    launcher: new CloudRunTaskService({ projectId, region: 'europe-west1', endpoint: emulator.endpoint }),
    // One launch a second: a 40-job kick-off takes 40 s to launch in full.
    launch: { ratePerMinute: 60 },
  });
});

afterAll(async () => {
  await service.close();
  await emulator.stop();
  await pubsub.close();
  await firestore.terminate();
});

/** Executions the Cloud Run emulator started for `orchestrationId`. */
function executionsOf(orchestrationId: string): number {
  return emulator.listExecutions().filter((execution) => execution.env.ORCHESTRATION_ID === orchestrationId)
    .length;
}

/** Polls the emulator's own state until `predicate` holds, or fails after `timeoutMs`. */
async function until(predicate: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('cancel during a long launch', () => {
  it('stops sending launch requests for a cancelled orchestration', async () => {
    const result = await service.kickOffJob(
      'quick',
      Array.from({ length: 40 }, (_, i) => ({ i })),
      { background: true },
    );
    await until(() => executionsOf(result.orchestrationId) >= 2);
    const { cancelled } = await service.cancel(result.orchestrationId);
    expect(cancelled).toBeGreaterThan(30);
    const report = await result.launched;
    const started = executionsOf(result.orchestrationId);
    expect(report?.launched).toBe(started);
    expect(started).toBeLessThan(8);
    expect(report).toMatchObject({ failed: 0, deferred: 0 });
    expect((report?.launched ?? 0) + (report?.skipped ?? 0)).toBe(40);
    const orchestration = await service.getOrchestration(result.orchestrationId);
    expect(orchestration).toMatchObject({ status: 'Cancelled', counts: { pending: 0 } });
  });
});
