import { type E11Job, JobName } from '@e11/runner';

import type { SumSalesResult } from './sum-sales-job.js';

/** The report job's input: the months that were summed, and those that failed. */
export type YearlyReportParams = {
  months: SumSalesResult[];
  failedMonths: string[];
};

/** The year at a glance. */
export interface YearlyReportResult {
  orders: number;
  totalCents: number;
  /** The region with the most revenue. */
  bestRegion: string;
  /** The month with the most revenue. */
  bestMonth: string;
  /** Months missing from the totals because their job failed. */
  missing: string[];
}

/**
 * Folds the months' totals into one yearly report: the last stage of the demo's `sales-report`
 * pipeline (fan-in: one job that gets every month's result).
 */
@JobName('yearly_report', { timeout: '1m' })
export class YearlyReportJob implements E11Job<YearlyReportParams, YearlyReportResult> {
  run(params: YearlyReportParams): YearlyReportResult {
    const regions = new Map<string, number>();
    let orders = 0;
    let best = { month: '', cents: -1 };
    for (const month of params.months) {
      orders += month.orders;
      if (month.totalCents > best.cents) best = { month: month.month, cents: month.totalCents };
      for (const [region, cents] of Object.entries(month.revenueCents))
        regions.set(region, (regions.get(region) ?? 0) + cents);
    }
    const bestRegion = [...regions].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '';
    const totalCents = [...regions.values()].reduce((sum, cents) => sum + cents, 0);
    return {
      orders,
      totalCents,
      bestRegion,
      bestMonth: best.month,
      missing: [...params.failedMonths].sort(),
    };
  }
}
