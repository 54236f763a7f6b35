import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { type E11Job, type JobContext, JobName, PermanentError } from '@e11/runner';

import { SumSales, type SumSalesParams, type SumSalesResult } from './handles.js';

export type { SumSalesParams, SumSalesResult } from './handles.js';

const DATA_DIR = fileURLToPath(new URL('../../data/sales/', import.meta.url));

/**
 * Adds up one month of the sales ledger (`examples/data/sales/YYYY-MM.csv`): orders and revenue per
 * region. A malformed row fails the job permanently with the file and line — July's ledger has one on
 * purpose, so the demo shows a failure with its params.
 */
@JobName(SumSales, { maxAttempts: 2, timeout: '2m' })
export class SumSalesJob implements E11Job<SumSalesParams, SumSalesResult> {
  async run(params: SumSalesParams, ctx: JobContext): Promise<SumSalesResult> {
    if (!/^\d{4}-\d{2}$/.test(params.month))
      throw new PermanentError(`month must look like 2026-07, got '${params.month}'`);
    const file = `${DATA_DIR}${params.month}.csv`;
    const { size } = await stat(file);
    const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
    const revenueCents: Record<string, number> = {};
    let orders = 0;
    let bytes = 0;
    let lineNumber = 0;
    for await (const line of lines) {
      lineNumber++;
      bytes += line.length + 1;
      if (lineNumber === 1 || line.trim() === '') continue;
      ctx.signal.throwIfAborted();
      const [, , region, , quantity, unitPrice] = line.split(',');
      const amount = Number(quantity) * Number(unitPrice);
      if (!region || !Number.isInteger(amount)) {
        throw new PermanentError(
          `${params.month}.csv line ${lineNumber}: cannot read quantity × price from "${line}"`,
        );
      }
      revenueCents[region] = (revenueCents[region] ?? 0) + amount;
      orders++;
      if (lineNumber % 50 === 0) ctx.progress(bytes / size, `${orders} orders read`);
    }
    ctx.log.info({ orders }, `summed ${params.month}`);
    const totalCents = Object.values(revenueCents).reduce((sum, value) => sum + value, 0);
    return { month: params.month, orders, revenueCents, totalCents };
  }
}
