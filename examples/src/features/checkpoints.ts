// Checkpoints: a job saves its position with ctx.saveCheckpoint(state); when an attempt fails and the
// runner retries, the next attempt reads ctx.checkpoint and resumes there instead of starting over.
// The `import_rows` job (../jobs/import-rows-job.ts) fails its first attempt part-way on purpose.
//   node examples/dist/features/checkpoints.js
import { ImportRows, type ImportRowsParams, type ImportRowsResult } from '../jobs/handles.js';
import { type Example, runIfMain, say } from '../local-stack.js';

export const checkpoints: Example<ImportRowsResult & { attempts: number }> = async ({ orchestrations }) => {
  const params: ImportRowsParams = { rows: 100, failFirstAttemptAfter: 40 };
  const { orchestrationId, jobIds } = await orchestrations.kickOffJob(ImportRows, [params]);
  const [successes] = await orchestrations.getJobResults(ImportRows, orchestrationId, {
    timeoutMs: 120_000,
  });
  const result = successes[0]?.result;
  if (!result) throw new Error('import_rows did not succeed');
  // The job's attempt history: the first attempt failed, the second finished from the checkpoint.
  const job = await orchestrations.getJob(orchestrationId, jobIds[0] ?? '');
  say(
    `attempt ${result.attempt} resumed from row ${result.resumedFrom} and imported ${result.imported} rows`,
  );
  return { ...result, attempts: job.attempts.length };
};

await runIfMain(import.meta.url, checkpoints);
