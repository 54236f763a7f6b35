import { appendFileSync } from 'node:fs';
import { setTimeout as wait } from 'node:timers/promises';

import { type E11Job, type JobContext, JobName } from '@e11/runner';

/** The job every benchmark runs: a little arithmetic, one progress report. */
@JobName('bench_sum')
export class BenchSumJob implements E11Job<{ index: number; rows: number }, { sum: number }> {
  run(params: { index: number; rows: number }, ctx: JobContext) {
    if (process.env.E11_BENCH_TIMESTAMPS === '1') process.stderr.write(`RUN_ENTERED ${Date.now()}\n`);
    ctx.progress(0.5);
    let sum = 0;
    for (let i = 0; i < params.rows; i++) sum += (params.index * i) % 7;
    if (process.env.E11_BENCH_TIMESTAMPS === '1') process.stderr.write(`RUN_RETURNED ${Date.now()}\n`);
    return { sum };
  }
}

/**
 * The maxParallel benchmark's job: works `ms` between a `start` and an `end` line (job index, wall
 * clock) in a ledger file, from which the benchmark counts the jobs running at once.
 */
@JobName('bench_span')
export class BenchSpanJob implements E11Job<{ ledger: string; ms: number; index: number }, number> {
  async run(params: { ledger: string; ms: number; index: number }, ctx: JobContext) {
    appendFileSync(params.ledger, `start ${params.index} ${Date.now()}\n`);
    await wait(params.ms, undefined, { signal: ctx.signal });
    appendFileSync(params.ledger, `end ${params.index} ${Date.now()}\n`);
    return params.index;
  }
}
