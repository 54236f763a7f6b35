// The example of the README's "Testing your jobs" section, as it runs: the README imports
// `@e11/runner` and `@e11/runner/testing`, which are these modules.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

import type { JobContext } from '../context.js';
import { PermanentError } from '../errors.js';
import { type E11Job, JobName } from '../job-name.js';

import { runJobInProcess } from './index.js';

// --- src/jobs/sum-sales.ts
const Params = z.object({
  month: z.string().regex(/^\d{4}-\d{2}$/, 'expected YYYY-MM'),
  apiKey: z.string(),
});
type Params = z.infer<typeof Params>;
type Progress = { day: number; total: number };

export interface SalesApi {
  daily(month: string, day: number, apiKey: string): Promise<number>;
}

const httpSalesApi: SalesApi = {
  async daily(month, day, apiKey) {
    const response = await fetch(`https://sales.example.com/${month}/${day}`, {
      headers: { authorization: `Bearer ${apiKey}` },
    });
    if (response.status === 404) throw new PermanentError(`no sales data for ${month}`);
    return ((await response.json()) as { total: number }).total;
  },
};

@JobName('sum_sales', { schema: Params, sensitiveKeys: ['apiKey'], maxAttempts: 3 })
export class SumSalesJob implements E11Job<Params, { total: number }, Progress> {
  constructor(private readonly api: SalesApi = httpSalesApi) {}

  async run(params: Params, ctx: JobContext<Params, Progress>) {
    const [year, month] = params.month.split('-').map(Number) as [number, number];
    const days = new Date(Date.UTC(year, month, 0)).getUTCDate();
    let { day, total } = ctx.checkpoint ?? { day: 0, total: 0 }; // resume where the last attempt stopped
    while (day < days) {
      ctx.signal.throwIfAborted();
      day++;
      total += await this.api.daily(params.month, day, params.apiKey);
      await ctx.saveCheckpoint({ day, total });
      ctx.progress(day / days, `${day}/${days} days`);
    }
    ctx.log.info({ total }, `summed ${params.month} with key ${params.apiKey}`);
    return { total };
  }
}

// --- src/jobs/sum-sales.test.ts
// One sale per day number: day 1 sold 1, day 2 sold 2, ...
const fakeApi: SalesApi = { daily: (_month, day) => Promise.resolve(day) };
const create = () => new SumSalesJob(fakeApi);
const params = { month: '2026-01', apiKey: 'sk-test-123456' };

describe('SumSalesJob', () => {
  it('sums every day of the month and reports its progress', async () => {
    const run = await runJobInProcess(SumSalesJob, params, { create });

    expect(run.status).toBe('Completed');
    expect(run.result).toEqual({ total: 496 }); // 1 + 2 + ... + 31
    expect(run.progress.at(-1)).toMatchObject({ ratio: 1, message: '31/31 days' });
    expect(run.checkpoints).toHaveLength(31);
  });

  it('resumes from the checkpoint of an earlier attempt', async () => {
    const run = await runJobInProcess(SumSalesJob, params, { create, checkpoint: { day: 30, total: 465 } });

    expect(run.result).toEqual({ total: 496 });
    expect(run.checkpoints).toEqual([{ day: 31, total: 496 }]);
  });

  it('retries a failed day and fails for good when the API says there is no data', async () => {
    let calls = 0;
    const flaky: SalesApi = {
      daily: () => (++calls === 1 ? Promise.reject(new Error('socket hang up')) : Promise.resolve(1)),
    };
    const noData: SalesApi = { daily: () => Promise.reject(new PermanentError('no sales data')) };

    // A plain Error is not retried by default: mark transient failures with TransientError or `retryOn`.
    const failed = await runJobInProcess(SumSalesJob, params, { create: () => new SumSalesJob(flaky) });
    expect(failed).toMatchObject({
      status: 'Errored',
      error: { message: 'socket hang up', retryable: false },
    });
    const gone = await runJobInProcess(SumSalesJob, params, { create: () => new SumSalesJob(noData) });
    expect(gone.attempts).toHaveLength(1);
    expect(gone.error).toMatchObject({ code: 'E11_PERMANENT', message: 'no sales data' });
  });

  it('rejects a malformed month before running, naming the field', async () => {
    const run = await runJobInProcess(SumSalesJob, { ...params, month: 'Jan' }, { create });

    expect(run.status).toBe('Errored');
    expect(run.error).toMatchObject({ code: 'E11_VALIDATION_FAILED' });
    expect(run.error?.message).toBe("Invalid params at 'month': expected YYYY-MM");
  });

  it('never logs the API key', async () => {
    const run = await runJobInProcess(SumSalesJob, params, { create });

    expect(run.logs).toContainEqual(
      expect.objectContaining({ message: 'summed 2026-01 with key [REDACTED]', total: 496 }),
    );
    expect(JSON.stringify(run.logs)).not.toContain('sk-test-123456');
  });
});
