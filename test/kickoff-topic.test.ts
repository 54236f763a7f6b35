import { randomUUID } from 'node:crypto';

import { createLogger, isE11Error } from '@e11/core';
import { OrchestrationService } from '@e11/sdk';
import { afterAll, describe, expect, it } from 'vitest';

import { emulatorClients, testProjectId } from './helpers/project.js';
import { RecordingLauncher } from './helpers/recording-launcher.js';

// kickOffJob promises a JobCompletedEvent on a topic: one that does not exist fails the kick-off
// before anything is written (the Pub/Sub emulator answers the existence check).
const projectId = testProjectId('kickoff-topic');
const { firestore, pubsub } = emulatorClients(projectId);
const launcher = new RecordingLauncher();
const missing = `missing-${randomUUID().slice(0, 8)}`;
const service = new OrchestrationService({
  firestore,
  pubsub,
  launcher,
  defaultTopic: missing,
  launch: { ratePerMinute: 100_000 },
  logger: createLogger('kickoff-topic', { level: 'silent' }),
});

afterAll(async () => {
  await service.close();
  await pubsub.close();
  await firestore.terminate();
});

async function codeOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return isE11Error(error) ? { code: error.code, path: error.context.path } : error;
  }
  return 'resolved';
}

async function documentsWritten(): Promise<number> {
  const collections = await firestore.listCollections();
  const counts = await Promise.all(collections.map(async (c) => (await c.count().get()).data().count));
  return counts.reduce((sum, count) => sum + count, 0);
}

describe('kickOffJob checks its topic', () => {
  it('rejects a kick-off whose topic (option or defaultTopic) does not exist and writes nothing', async () => {
    const other = `missing-${randomUUID().slice(0, 8)}`;
    expect(
      await codeOf(service.kickOffJob('nightly_export', [{ table: 'orders' }], { topic: other })),
    ).toEqual({
      code: 'E11_UNKNOWN_TOPIC',
      path: 'topic',
    });
    expect(await codeOf(service.kickOffJob('nightly_export', [{ table: 'orders' }]))).toEqual({
      code: 'E11_UNKNOWN_TOPIC',
      path: 'topic',
    });
    expect(await documentsWritten()).toBe(0);
    expect(launcher.requests).toHaveLength(0);
  });

  it('kicks off once the topic exists (a missing topic is not remembered)', async () => {
    await pubsub.createTopic(missing);
    const result = await service.kickOffJob('nightly_export', [{ table: 'orders' }]);
    expect(result.jobIds).toHaveLength(1);
    expect(await service.getOrchestration(result.orchestrationId)).toMatchObject({ total: 1 });
    expect(launcher.requests).toHaveLength(1);
  });
});
