// The runner task the overhead benchmark starts: the real runE11Job with the bench job class.
import { runE11Job } from '@e11/runner';

import { BenchSumJob } from './bench-jobs.js';

process.on('exit', () => process.stderr.write(`MAX_RSS_KB ${process.resourceUsage().maxRSS}\n`));
await runE11Job([BenchSumJob]);
