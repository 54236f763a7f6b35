// Schedules: a cron schedule stored in Firestore that kicks off a job at each fire time. In production
// Cloud Scheduler calls the `schedulerTick` function; the local stack ticks on a timer. Here the
// schedule is created for 06:00 every day and run once now with trigger().
//   node examples/dist/features/schedules.js
import { Schedules } from '@e11/sdk';

import { SumSales, type SumSalesParams } from '../jobs/handles.js';
import { type Example, runIfMain, say } from '../local-stack.js';

export const schedules: Example<{ outcome: string; month: string | undefined; runs: number }> = async ({
  orchestrations,
}) => {
  const name = 'daily-sales';
  // The local stack's scheduler ticks the schedules ('external' to this object); in production pass
  // `cloudScheduler` instead. A Schedules with neither refuses upsert(): nothing would fire it.
  const daily = new Schedules(orchestrations, { ticker: 'external' });
  await daily.upsert({
    name,
    cron: '0 6 * * *',
    timeZone: 'Europe/Berlin',
    jobName: 'sum_sales',
    params: [{ month: '2026-03' } satisfies SumSalesParams],
    overlap: 'skip', // a fire while the previous run still runs is skipped
  });
  try {
    // Run it now (a manual run: it does not move the schedule's next cron fire).
    const fired = await daily.trigger(name);
    say(`trigger('${name}') → ${fired.outcome}, orchestration ${fired.orchestrationId ?? '-'}`);
    if (fired.outcome !== 'launched' || fired.orchestrationId === null)
      throw new Error(`the schedule did not launch: ${fired.reason ?? fired.outcome}`);
    const [successes] = await orchestrations.getJobResults(SumSales, fired.orchestrationId, {
      timeoutMs: 120_000,
    });
    const runs = await daily.runs(name);
    for (const run of runs) say(`  run ${run.id}: ${run.trigger}, ${run.outcome}`);
    return { outcome: fired.outcome, month: successes[0]?.result.month, runs: runs.length };
  } finally {
    await daily.remove(name);
  }
};

await runIfMain(import.meta.url, schedules);
