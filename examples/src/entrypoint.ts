// The container entrypoint of the example job image: picks the job class named by JOB_NAME and runs
// the job named by ORCHESTRATION_ID / JOB_ID (or CLOUD_RUN_TASK_INDEX in array mode).
import 'reflect-metadata';

import { runE11Job } from '@e11/runner';

import { ImportRowsJob } from './jobs/import-rows-job.js';
import { SumSalesJob } from './jobs/sum-sales-job.js';
import { YearlyReportJob } from './jobs/yearly-report-job.js';

await runE11Job([SumSalesJob, YearlyReportJob, ImportRowsJob]);
