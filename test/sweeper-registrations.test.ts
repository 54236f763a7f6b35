import { randomUUID } from 'node:crypto';

import { OrchestrationService } from '@e11/sdk';
import { Timestamp } from '@google-cloud/firestore';
import { afterAll, describe, expect, it } from 'vitest';

import { registerJobs } from './helpers/completion.js';
import { emulatorClients, testProjectId } from './helpers/project.js';
import { RecordingLauncher } from './helpers/recording-launcher.js';

const projectId = testProjectId('sweeper-registrations');
const { firestore, pubsub } = emulatorClients(projectId);
const orchestrations = new OrchestrationService({ firestore, pubsub, launcher: new RecordingLauncher() });
afterAll(async () => {
  await orchestrations.close();
  await Promise.all([firestore.terminate(), pubsub.close()]);
});

/** An orchestration whose kick-off stopped before registering all its jobs, created `ageMs` ago. */
async function unregistered(id: string, ageMs: number) {
  await registerJobs(orchestrations.store, 1, { orchestrationId: id, jobName: 'nightly_sync' });
  await orchestrations.store.collections
    .orchestration(id)
    .update({ registered: false, createdAt: Timestamp.fromMillis(Date.now() - ageMs) });
}

describe('the sweeper and unfinished registrations', () => {
  it('removes an abandoned registration however many younger ones are still being written', async () => {
    // 120 registrations still being written, whose ids sort before the abandoned one's.
    const young = Array.from({ length: 120 }, (_, i) => `0000${String(i).padStart(4, '0')}-${randomUUID()}`);
    for (const id of young) await unregistered(id, 60_000);
    const abandoned = `ffff-${randomUUID()}`;
    await unregistered(abandoned, 20 * 60_000);

    const report = await orchestrations.sweep();

    expect(report.abandoned).toBe(1);
    expect((await orchestrations.store.collections.orchestration(abandoned).get()).exists).toBe(false);
    expect((await orchestrations.store.collections.jobs(abandoned).count().get()).data().count).toBe(0);
    const left = await orchestrations.store.collections
      .orchestrations()
      .where('registered', '==', false)
      .get();
    expect(left.docs.map((doc) => doc.id).sort()).toEqual(young);
  });
});
