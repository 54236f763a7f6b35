import { type E11Job, type JobContext, JobName, TransientError } from '@e11/runner';

/** The import job's input: how many rows to import, and after how many the first attempt fails. */
export interface ImportRowsParams {
  [key: string]: number;
  rows: number;
  /** The first attempt fails with a TransientError after this many rows (a flaky dependency, simulated). */
  failFirstAttemptAfter: number;
}

/** What the job saves after each batch: the next row to import. */
export interface ImportRowsCheckpoint {
  nextRow: number;
}

/** The import's result: rows imported, and where the attempt that finished started. */
export interface ImportRowsResult {
  imported: number;
  /** The row the finishing attempt started from: 0 when it began afresh, else the checkpoint's. */
  resumedFrom: number;
  /** The attempt that finished (1-based). */
  attempt: number;
}

const BATCH = 10;

/**
 * Imports rows in batches of ten and saves a checkpoint after each batch: a later attempt resumes from
 * `ctx.checkpoint` instead of starting over. The first attempt fails part-way on purpose (a
 * `TransientError`, which the runner retries), so the example shows the second attempt resuming.
 */
@JobName('import_rows', { maxAttempts: 2, backoff: { initialMs: 100, maxMs: 100 } })
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
