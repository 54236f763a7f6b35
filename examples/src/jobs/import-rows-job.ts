import { type E11Job, type JobContext, JobName, TransientError } from '@e11/runner';

import { ImportRows, type ImportRowsParams, type ImportRowsResult } from './handles.js';

export type { ImportRowsParams, ImportRowsResult } from './handles.js';

/** What the job saves after each batch: the next row to import. */
export interface ImportRowsCheckpoint {
  nextRow: number;
}

const BATCH = 10;

/**
 * Imports rows in batches of ten and saves a checkpoint after each batch: a later attempt resumes from
 * `ctx.checkpoint` instead of starting over. The first attempt fails part-way on purpose (a
 * `TransientError`, which the runner retries), so the example shows the second attempt resuming.
 */
@JobName(ImportRows, { maxAttempts: 2, backoff: { initialMs: 100, maxMs: 100 } })
export class ImportRowsJob implements E11Job<ImportRowsParams, ImportRowsResult, ImportRowsCheckpoint> {
  async run(
    params: ImportRowsParams,
    ctx: JobContext<ImportRowsParams, ImportRowsCheckpoint>,
  ): Promise<ImportRowsResult> {
    const resumedFrom = ctx.checkpoint?.nextRow ?? 0;
    for (let row = resumedFrom; row < params.rows; row += BATCH) {
      ctx.signal.throwIfAborted();
      if (ctx.attempt === 1 && row >= params.failFirstAttemptAfter)
        throw new TransientError(`the database dropped the connection at row ${row}`);
      // … write rows [row, row + BATCH) to your database here …
      const nextRow = Math.min(row + BATCH, params.rows);
      await ctx.saveCheckpoint({ nextRow });
      ctx.progress(nextRow / params.rows, `${nextRow} rows imported`);
    }
    return { imported: params.rows, resumedFrom, attempt: ctx.attempt };
  }
}
