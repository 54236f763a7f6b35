// Array mode: one Cloud Run execution with `taskCount = N` instead of one execution per job; each task
// finds its job by CLOUD_RUN_TASK_INDEX. Fewer run-job calls (Cloud Run's run-job quota is per minute),
// the same jobs, results and JobCompletedEvent.
//   node examples/dist/features/array-mode.js
import { SumSales } from '../jobs/handles.js';
import { type Example, runIfMain, say } from '../local-stack.js';

const MONTHS = ['2026-01', '2026-02', '2026-03', '2026-04'];

export const arrayMode: Example<{ executions: number; months: string[]; failures: number }> = async ({
  orchestrations,
}) => {
  const { orchestrationId, launched } = await orchestrations.kickOffJob(
    SumSales,
    MONTHS.map((month) => ({ month })),
    { mode: 'array' },
  );
  const report = await launched;
  say(`${MONTHS.length} jobs, ${report?.executions.length ?? 0} Cloud Run execution(s)`);
  const [successes, failures] = await orchestrations.getJobResults(SumSales, orchestrationId, {
    timeoutMs: 120_000,
  });
  for (const { result } of successes) say(`  ${result.month}: ${result.orders} orders`);
  return {
    executions: report?.executions.length ?? 0,
    months: successes.map(({ result }) => result.month).sort(),
    failures: failures?.length ?? 0,
  };
};

await runIfMain(import.meta.url, arrayMode);
