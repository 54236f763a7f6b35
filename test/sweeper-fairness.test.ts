import { claimJob, createStore } from '@e11/core';
import { OrchestrationService } from '@e11/sdk';
import { afterAll, describe, expect, it } from 'vitest';

import { registerJobs } from './helpers/completion.js';
import { emulatorClients, storeFor, testProjectId } from './helpers/project.js';
import { RecordingLauncher } from './helpers/recording-launcher.js';

const projectId = testProjectId('sweeper-fairness');
const { firestore, pubsub } = emulatorClients(projectId);
const orchestrations = new OrchestrationService({ firestore, pubsub, launcher: new RecordingLauncher() });
afterAll(async () => {
  await orchestrations.close();
  await Promise.all([firestore.terminate(), pubsub.close()]);
});

/** An active orchestration whose one job was claimed ten minutes ago by a task that died since. */
async function withCrashedTask(): Promise<{ orchestrationId: string; jobId: string }> {
  const { orchestrationId, jobIds } = await registerJobs(storeFor(firestore), 1, {
    jobName: 'nightly_sync',
  });
  const jobId = jobIds[0] as string;
  const tenMinutesAgo = createStore({ firestore, clock: { now: () => Date.now() - 10 * 60_000 } });
  const claim = { id: `claim-${jobId}`, executionName: null, taskIndex: 0, taskAttempt: 0 };
  await claimJob(tenMinutesAgo, {
    orchestrationId,
    jobId,
    claim,
    maxAttempts: 3,
    heartbeatTimeoutMs: 60_000,
  });
  return { orchestrationId, jobId };
}

describe('the sweeper over more active orchestrations than one pass reads', () => {
  it('visits every active orchestration within a bounded number of passes', async () => {
    const crashed = await Promise.all(Array.from({ length: 7 }, () => withCrashedTask()));
    const statuses = () =>
      Promise.all(
        crashed.map(
          async ({ orchestrationId, jobId }) => (await orchestrations.getJob(orchestrationId, jobId)).status,
        ),
      );
    expect(await statuses()).toEqual(Array.from({ length: 7 }, () => 'InProgress'));

    // Three orchestrations per pass: the orchestrations stay active (their jobs are requeued, not
    // ended), so a pass that always starts from the first id would find the same three again.
    const found: number[] = [];
    for (let pass = 0; pass < 3; pass++) {
      found.push((await orchestrations.sweep({ limit: 3, pageSize: 2 })).crashed);
    }

    expect(found).toEqual([3, 3, 1]);
    expect(await statuses()).toEqual(Array.from({ length: 7 }, () => 'Pending'));
  });
});
