// The JobCompletedEvent: one Pub/Sub message per orchestration end, published by the completion
// function. A downstream service subscribes (here with a filter on a tag), kicks off, and acts on the
// event instead of polling.
//   node examples/dist/features/job-completed-event.js
import { DEFAULTS } from '@e11/core';
import { type JobCompletedEvent, subscribeToJobCompleted } from '@e11/sdk';

import type { SumSalesParams } from '../jobs/sum-sales-job.js';
import { type Example, runIfMain, say, withTimeout } from '../local-stack.js';

export const jobCompletedEvent: Example<JobCompletedEvent> = async ({ orchestrations, pubsub }) => {
  // Events by orchestration id, and who waits for which.
  const seen = new Map<string, JobCompletedEvent>();
  const waiting = new Map<string, (event: JobCompletedEvent) => void>();
  const subscription = await subscribeToJobCompleted(
    pubsub,
    { topic: DEFAULTS.topic }, // e11-job-completed, or a subscription name of your own
    (event) => {
      // Pub/Sub delivers at least once: de-duplicate on event.eventId where acting twice matters.
      seen.set(event.orchestrationId, event);
      waiting.get(event.orchestrationId)?.(event);
      return Promise.resolve();
    },
    { filter: { customerId: 'initech' } },
  );
  try {
    const { orchestrationId } = await orchestrations.kickOffJob(
      'sum_sales',
      ['2026-10', '2026-11'].map((month): SumSalesParams => ({ month })),
      { tags: { customerId: 'initech' } },
    );
    say(`kicked off ${orchestrationId}; waiting for its JobCompletedEvent…`);
    const ended =
      seen.get(orchestrationId) ??
      new Promise<JobCompletedEvent>((resolve) => waiting.set(orchestrationId, resolve));
    const event = await withTimeout(Promise.resolve(ended), 120_000, 'The JobCompletedEvent');
    say(JSON.stringify(event, null, 2));
    return event;
  } finally {
    await subscription.close();
  }
};

await runIfMain(import.meta.url, jobCompletedEvent);
