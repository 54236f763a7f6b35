// The demo's pipelines, in one module that both sides load: the backend passes them to
// `new OrchestrationService({ pipelines })`, and the functions deployment names this file in
// E11_PIPELINES_MODULE (the local stack's `pipelinesModule`), where each next stage starts.
import { definePipeline } from '@e11/sdk';

import type { SumSalesParams, SumSalesResult } from './jobs/sum-sales-job.js';
import type { YearlyReportParams } from './jobs/yearly-report-job.js';

/** The pipeline's input: the months of the ledger to report on. */
export type SalesReportInput = { months: string[] };

/**
 * `sales-report`: sum every month in parallel (fan-out), then one job folds them into the yearly
 * report (fan-in). A month that fails does not stop the report (`continue`): the report says which
 * months are missing.
 */
export const salesReport = definePipeline<SalesReportInput>({
  name: 'sales-report',
  stages: [
    {
      name: 'months',
      job: 'sum_sales',
      params: ({ input }) => input.months.map((month): SumSalesParams => ({ month })),
      onFailure: 'continue',
    },
    {
      name: 'report',
      job: 'yearly_report',
      params: ({ previous }): YearlyReportParams[] => [
        {
          months: (previous?.successes ?? []).map((success) => success.result as SumSalesResult),
          failedMonths: (previous?.failures ?? []).map((failure) => (failure.params as SumSalesParams).month),
        },
      ],
    },
  ],
});

export const pipelines = [salesReport];
