// The example's job handles: each job's name, params type and result type, declared once. The job
// classes take their name from here (`@JobName(SumSales)`), and the backend code (../features/,
// ../demo.ts) kicks off and reads results through them (`kickOffJob(SumSales, params)`,
// `getJobResults(SumSales, id)`) without importing the jobs' implementations.
import { defineJob } from '@e11/sdk';

/** One `sum_sales` job's input: which month of the sales ledger to add up. */
export interface SumSalesParams {
  [key: string]: string;
  month: string;
}

/** One `sum_sales` job's result: the month's order count and revenue per region, in cents. */
export type SumSalesResult = {
  month: string;
  orders: number;
  revenueCents: Record<string, number>;
  totalCents: number;
};

/** The import job's input: how many rows to import, and after how many the first attempt fails. */
export interface ImportRowsParams {
  [key: string]: number;
  rows: number;
  /** The first attempt fails with a TransientError after this many rows (a flaky dependency, simulated). */
  failFirstAttemptAfter: number;
}

/** The import's result: rows imported, and where the attempt that finished started. */
export interface ImportRowsResult {
  imported: number;
  /** The row the finishing attempt started from: 0 when it began afresh, else the checkpoint's. */
  resumedFrom: number;
  /** The attempt that finished (1-based). */
  attempt: number;
}

/** Adds up one month of the sales ledger (../jobs/sum-sales-job.ts). */
export const SumSales = defineJob<SumSalesParams, SumSalesResult>('sum_sales');

/** Imports rows in batches, resuming from its checkpoint (../jobs/import-rows-job.ts). */
export const ImportRows = defineJob<ImportRowsParams, ImportRowsResult>('import_rows');
