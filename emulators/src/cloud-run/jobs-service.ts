import { status } from '@grpc/grpc-js';

import type { CompiledJobDefinition } from './config.js';
import type { EmulatorCore } from './core.js';
import type { ExecutionSpec } from './execution-record.js';
import { createExecutionRecord } from './execution-record.js';
import { paginate } from './paging.js';
import type { JobName } from './resource-names.js';
import { jobName, notFoundMessage, parseJobName, parseLocationName } from './resource-names.js';
import { invalidArgument, notFound, RpcError } from './rpc-error.js';
import { RUN_LIMIT_MESSAGES } from './run-limits.js';
import type { OverridesMessage } from './run-overrides.js';
import { applyOverrides } from './run-overrides.js';
import type { UnaryHandlers } from './server-types.js';
import { jobToProto } from './to-proto.js';

interface GetJobRequest {
  name: string;
}

interface ListJobsRequest {
  parent: string;
  pageSize: number;
  pageToken: string;
}

interface RunJobRequest {
  name: string;
  validateOnly: boolean;
  overrides: OverridesMessage | null;
}

/** The answers of an injected rejection: a quota window looks like the real per-minute quota. */
const REJECTION_MESSAGES = {
  RESOURCE_EXHAUSTED: RUN_LIMIT_MESSAGES.runRequestsPerMinute,
  UNAVAILABLE: 'The service is currently unavailable.',
} as const;

/** Parses a job name and finds its definition; INVALID_ARGUMENT or NOT_FOUND otherwise. */
export function findJob(core: EmulatorCore, name: string): { job: CompiledJobDefinition; parsed: JobName } {
  const parsed = parseJobName(name);
  if (!parsed)
    throw invalidArgument(
      `name: '${name}' is not a job name (projects/{project}/locations/{location}/jobs/{job}).`,
    );
  const job = core.jobs.get(parsed.jobId);
  if (!job) throw notFound(notFoundMessage('JOB', parsed.jobId, parsed));
  return { job, parsed };
}

/** google.cloud.run.v2.Jobs: GetJob, ListJobs, RunJob. The others answer UNIMPLEMENTED. */
export function jobsHandlers(core: EmulatorCore): UnaryHandlers {
  return {
    GetJob: (request: GetJobRequest) => {
      const { job, parsed } = findJob(core, request.name);
      return jobToProto(job, parsed, core.store);
    },

    ListJobs: (request: ListJobsRequest) => {
      const where = parseLocationName(request.parent);
      if (!where)
        throw invalidArgument(`parent: '${request.parent}' is not projects/{project}/locations/{location}.`);
      const ids = [...core.jobs.keys()].sort();
      const page = paginate(ids, request.pageSize, request.pageToken);
      return {
        jobs: page.items.flatMap((id) => {
          const job = core.jobs.get(id);
          return job ? [jobToProto(job, { ...where, jobId: id }, core.store)] : [];
        }),
        nextPageToken: page.nextPageToken,
      };
    },

    RunJob: (request: RunJobRequest) => {
      const rejection = core.faults.takeRunRejection();
      if (rejection) throw new RpcError(status[rejection], REJECTION_MESSAGES[rejection]);
      if (core.stopping) throw new RpcError(status.UNAVAILABLE, 'The Cloud Run Jobs emulator is stopping.');
      const { job, parsed } = findJob(core, request.name);
      const run = applyOverrides(job, request.overrides);
      if (!request.validateOnly) {
        const limit = core.limits.admit(parsed, core.store.unfinishedIn(parsed));
        if (limit) throw new RpcError(status.RESOURCE_EXHAUSTED, RUN_LIMIT_MESSAGES[limit]);
      }
      const executionId = core.store.newExecutionId(jobName(parsed), parsed.jobId);
      const spec: ExecutionSpec = { job, name: { ...parsed, executionId }, ...run };
      const execution = createExecutionRecord(spec, core.store.nextSeq(), core.taskOutputLimitBytes);
      if (request.validateOnly)
        return core.operations.toProto(core.operations.create(parsed, 'validate', execution));
      core.store.add(execution);
      core.scheduler.submit(execution);
      return core.operations.toProto(core.operations.create(parsed, 'run', execution));
    },
  };
}
