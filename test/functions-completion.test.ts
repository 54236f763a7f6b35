import { readCounts } from '@e11/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  type CompletionHarness,
  EVENTS_PER_JOB,
  registerJobs,
  runJobs,
  startCompletionHarness,
  waitForOrchestration,
} from './helpers/completion.js';

// The real path: Firestore emulator trigger → bridge → Functions Framework running @e11/functions →
// Pub/Sub emulator. Jobs are driven through the store functions a runner calls.
let harness: CompletionHarness;
beforeAll(async () => {
  harness = await startCompletionHarness('functions-completion');
});
afterAll(() => harness.close());

describe('onJobWritten on the emulators', () => {
  it('publishes one JobCompletedEvent with the body and attributes of a one-job orchestration', async () => {
    const { store, log, trigger } = harness;
    const before = await trigger.stats();
    const { orchestrationId, jobIds } = await registerJobs(store, 1, {
      tags: { customerId: 'acme', region: 'eu' },
    });
    await runJobs(store, orchestrationId, jobIds);

    const message = await log.waitFor((m) => m.attributes.orchestrationId === orchestrationId);
    const [received] = log.eventsOf(orchestrationId);
    expect(received?.event).toMatchObject({
      type: 'JobCompletedEvent',
      version: 1,
      eventId: `${orchestrationId}:1`,
      orchestrationId,
      jobName: 'sum_chunk',
      status: 'Completed',
      total: 1,
      succeeded: 1,
      failed: 0,
      cancelled: 0,
      tags: { customerId: 'acme', region: 'eu' },
      epoch: 1,
    });
    expect(Date.parse(received?.event.completedAt ?? '')).toBeGreaterThanOrEqual(
      Date.parse(received?.event.createdAt ?? ''),
    );
    expect(message.attributes).toMatchObject({
      orchestrationId,
      jobName: 'sum_chunk',
      status: 'Completed',
      customerId: 'acme',
      region: 'eu',
      type: 'JobCompletedEvent',
    });
    const orchestration = await waitForOrchestration(store, orchestrationId, (doc) => !doc.eventPending);
    expect(orchestration).toMatchObject({
      status: 'Completed',
      eventPending: false,
      counts: { completed: 1, errored: 0, inProgress: 0, pending: 0 },
    });
    expect(orchestration.completedAt).not.toBeNull();

    // Nothing else follows: after every trigger delivery settled, the next message is the sentinel.
    const stats = await trigger.waitForIdle({ minReceived: before.received + EVENTS_PER_JOB });
    expect(stats.failed).toBe(0);
    expect(log.eventsOf(orchestrationId)).toHaveLength(1);
    const drained = await harness.drainWithSentinel();
    expect(drained.filter((m) => m.attributes.orchestrationId === orchestrationId)).toHaveLength(1);
  });

  it('publishes exactly one event when 500 jobs finish concurrently (30 runners at once), with exact counts', async () => {
    const { store, log, trigger } = harness;
    const total = 500;
    const before = await trigger.stats();
    const { orchestrationId, jobIds } = await registerJobs(store, total, { tags: { customerId: 'globex' } });
    await runJobs(store, orchestrationId, jobIds, { fails: (index) => index % 10 === 3, concurrency: 30 });
    await log.waitFor((m) => m.attributes.orchestrationId === orchestrationId);
    const stats = await trigger.waitForIdle({
      minReceived: before.received + total * EVENTS_PER_JOB,
      timeoutMs: 60_000,
    });
    expect(stats.failed).toBe(0);
    const drained = await harness.drainWithSentinel();
    const events = drained.filter((m) => m.attributes.orchestrationId === orchestrationId);
    expect(events).toHaveLength(1);
    expect(log.eventsOf(orchestrationId)[0]?.event).toMatchObject({
      status: 'Errored',
      total: 500,
      succeeded: 450,
      failed: 50,
      cancelled: 0,
      tags: { customerId: 'globex' },
    });
    expect(await readCounts(store, orchestrationId)).toEqual({
      pending: 0,
      inProgress: 0,
      completed: 450,
      errored: 50,
      cancelled: 0,
    });
    expect(await waitForOrchestration(store, orchestrationId, (doc) => !doc.eventPending)).toMatchObject({
      status: 'Errored',
      counts: { completed: 450, errored: 50 },
      eventPending: false,
    });
  });
});
