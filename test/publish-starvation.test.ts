import { randomUUID } from 'node:crypto';

import {
  completionDocSchema,
  createLogger,
  emptyCounts,
  markOrchestrationDone,
  parseDocument,
} from '@e11/core';
import { OrchestrationService } from '@e11/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { registerJobs } from './helpers/completion.js';
import { emulatorClients, storeFor, testProjectId } from './helpers/project.js';
import { RecordingLauncher } from './helpers/recording-launcher.js';

// More unpublishable events than the sweeper handles in one pass (their topic does not exist), and
// one healthy event behind them: the sweeper must get to it within a bounded number of passes.
const projectId = testProjectId('publish-starvation');
const { firestore, pubsub } = emulatorClients(projectId);
const service = new OrchestrationService({
  firestore,
  pubsub,
  launcher: new RecordingLauncher(),
  logger: createLogger('publish-starvation', { level: 'silent' }),
});
const store = storeFor(firestore);
const healthyTopic = `healthy-${randomUUID().slice(0, 8)}`;
/** One full pass of the sweeper's pending events (the old code's fixed limit, now DEFAULTS.republishMaxPerSweep). */
const BROKEN = 500;

beforeAll(() => pubsub.createTopic(healthyTopic));
afterAll(async () => {
  await service.close();
  await pubsub.close();
  await firestore.terminate();
});

/** An ended orchestration whose publisher died at once (its lease is already over): the sweeper's to publish. */
async function endedUnpublished(orchestrationId: string, topic: string): Promise<void> {
  await registerJobs(store, 1, { orchestrationId, topic });
  const done = await markOrchestrationDone(store, {
    orchestrationId,
    epoch: 1,
    counts: { ...emptyCounts(), completed: 1 },
    leaseMs: 0,
  });
  if (done.outcome !== 'created') throw new Error(`marker of ${orchestrationId}: ${done.outcome}`);
}

describe('the sweeper publishes pending events fairly', () => {
  it('publishes a healthy event behind more than a pass of events whose topic is missing', async () => {
    // Ids that sort before the healthy one: a query in id order always finds the broken ones first.
    // The first broken orchestration is ended through the store functions; the others are copies of
    // its two documents (orchestration and completion marker) under their own ids, written in batches.
    const missingTopic = `deleted-${randomUUID().slice(0, 8)}`;
    const brokenId = (index: number) => `a-${String(index).padStart(4, '0')}-${randomUUID()}`;
    const template = brokenId(0);
    await endedUnpublished(template, missingTopic);
    const [orchestrationCopy, markerCopy] = await Promise.all([
      store.collections.orchestration(template).get(),
      store.collections.completion(template, 1).get(),
    ]);
    for (let first = 1; first < BROKEN; first += 200) {
      const batch = firestore.batch();
      for (let index = first; index < Math.min(first + 200, BROKEN); index++) {
        const id = brokenId(index);
        batch.create(store.collections.orchestration(id), { ...orchestrationCopy.data(), id });
        batch.create(store.collections.completion(id, 1), { ...markerCopy.data(), eventId: `${id}:1` });
      }
      await batch.commit();
    }
    const healthy = `z-${randomUUID()}`;
    await endedUnpublished(healthy, healthyTopic);

    const passes: number[] = [];
    for (let pass = 1; pass <= 2; pass++) {
      const report = await service.sweep({ pageSize: 50 });
      passes.push(report.republished);
      const marker = await store.collections.completion(healthy, 1).get();
      if (parseDocument(completionDocSchema, marker).published) break;
    }
    const marker = parseDocument(completionDocSchema, await store.collections.completion(healthy, 1).get());
    expect(marker.published, `republished per pass: ${passes.join(', ')}`).toBe(true);
    expect(passes.at(-1)).toBe(1);

    // Every broken one was tried in the first pass; none more than once per pass.
    const attempts = await Promise.all(
      (await store.collections.orchestrations().where('eventPending', '==', true).get()).docs.map(
        async (doc) =>
          parseDocument(completionDocSchema, await store.collections.completion(doc.id, 1).get())
            .publishAttempts,
      ),
    );
    expect(attempts).toHaveLength(BROKEN);
    expect(Math.min(...attempts)).toBeGreaterThanOrEqual(1);
    expect(Math.max(...attempts)).toBeLessThanOrEqual(passes.length);
  });
});
