// The runner task the benchmarks start: the real runE11Job with the bench job classes.
import { runE11Job } from '@e11/runner';

import { BenchSpanJob, BenchSumJob } from './bench-jobs.js';

process.on('exit', () => process.stderr.write(`MAX_RSS_KB ${process.resourceUsage().maxRSS}\n`));
await runE11Job([BenchSumJob, BenchSpanJob]);
