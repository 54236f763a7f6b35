import type { EmulatorCore } from './core.js';
import type { ExecutionRecord } from './execution-record.js';
import { touch } from './execution-record.js';
import { paginate } from './paging.js';
import { notFoundMessage, parseExecutionName, parseJobName } from './resource-names.js';
import { failedPrecondition, invalidArgument, notFound } from './rpc-error.js';
import type { UnaryHandlers } from './server-types.js';
import { executionToProto } from './to-proto.js';

interface NameRequest {
  name: string;
  validateOnly?: boolean;
}

interface ListRequest {
  parent: string;
  pageSize: number;
  pageToken: string;
}

/** Parses an execution name and finds the execution; INVALID_ARGUMENT or NOT_FOUND otherwise. */
export function findExecution(core: EmulatorCore, name: string): ExecutionRecord {
  const parsed = parseExecutionName(name);
  if (!parsed) {
    throw invalidArgument(
      `name: '${name}' is not an execution name (projects/{project}/locations/{location}/jobs/{job}/executions/{execution}).`,
    );
  }
  const execution = core.store.get(name);
  if (!execution) throw notFound(notFoundMessage('EXECUTION', parsed.executionId, parsed));
  return execution;
}

/** google.cloud.run.v2.Executions: GetExecution, ListExecutions, CancelExecution, DeleteExecution. */
export function executionsHandlers(core: EmulatorCore): UnaryHandlers {
  return {
    GetExecution: (request: NameRequest) => executionToProto(findExecution(core, request.name)),

    ListExecutions: (request: ListRequest) => {
      const parsed = parseJobName(request.parent);
      if (!parsed) throw invalidArgument(`parent: '${request.parent}' is not a job name.`);
      const executions = core.store.forJob(request.parent);
      if (executions.length === 0 && !core.jobs.has(parsed.jobId)) {
        throw notFound(notFoundMessage('JOB', parsed.jobId, parsed));
      }
      const page = paginate(executions, request.pageSize, request.pageToken);
      return { executions: page.items.map(executionToProto), nextPageToken: page.nextPageToken };
    },

    CancelExecution: (request: NameRequest) => {
      const execution = findExecution(core, request.name);
      if (execution.outcome) {
        throw failedPrecondition(`Execution '${execution.spec.name.executionId}' has already completed.`);
      }
      const where = execution.spec.name;
      if (request.validateOnly)
        return core.operations.toProto(core.operations.create(where, 'validate', execution));
      core.scheduler.cancel(execution, 'cancelled');
      return core.operations.toProto(core.operations.create(where, 'cancel', execution));
    },

    DeleteExecution: (request: NameRequest) => {
      const execution = findExecution(core, request.name);
      const where = execution.spec.name;
      if (request.validateOnly)
        return core.operations.toProto(core.operations.create(where, 'validate', execution));
      execution.deleteTimeMs = Date.now();
      touch(execution);
      const operation = core.operations.create(where, 'delete', execution);
      // A finished execution goes at once; a running one is cancelled and removed when it ends.
      if (execution.outcome) core.store.remove(execution.name);
      else core.scheduler.cancel(execution, 'deleted');
      return core.operations.toProto(operation);
    },
  };
}
