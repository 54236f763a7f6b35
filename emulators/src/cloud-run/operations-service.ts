import type { ServerUnaryCall } from '@grpc/grpc-js';

import type { EmulatorCore } from './core.js';
import { DEFAULT_WAIT_OPERATION_MS } from './defaults.js';
import type { OperationRecord } from './operations.js';
import { paginate } from './paging.js';
import { notFound } from './rpc-error.js';
import type { UnaryHandlers } from './server-types.js';
import type { ProtoSecondsNanos } from './time.js';
import { fromSecondsNanos } from './time.js';

interface NameRequest {
  name: string;
}

interface ListOperationsRequest {
  name: string;
  filter: string;
  pageSize: number;
  pageToken: string;
}

interface WaitOperationRequest {
  name: string;
  timeout: ProtoSecondsNanos | null;
}

function findOperation(core: EmulatorCore, name: string): OperationRecord {
  const operation = core.operations.get(name);
  if (!operation) throw notFound(`Operation '${name}' not found.`);
  return operation;
}

/**
 * google.longrunning.Operations: GetOperation, ListOperations (by name prefix; `filter` is
 * ignored), WaitOperation, DeleteOperation, CancelOperation (cancels a run's execution).
 */
export function operationsHandlers(core: EmulatorCore): UnaryHandlers {
  return {
    GetOperation: (request: NameRequest) => core.operations.toProto(findOperation(core, request.name)),

    ListOperations: (request: ListOperationsRequest) => {
      const prefix = request.name === 'operations' ? '' : request.name;
      const page = paginate(core.operations.list(prefix), request.pageSize, request.pageToken);
      return {
        operations: page.items.map((operation) => core.operations.toProto(operation)),
        nextPageToken: page.nextPageToken,
      };
    },

    WaitOperation: async (request: WaitOperationRequest, call: ServerUnaryCall<unknown, unknown>) => {
      const operation = findOperation(core, request.name);
      const requested = request.timeout ? fromSecondsNanos(request.timeout) : DEFAULT_WAIT_OPERATION_MS;
      const abort = new AbortController();
      call.once('cancelled', () => abort.abort());
      await core.operations.wait(operation, Math.min(requested, DEFAULT_WAIT_OPERATION_MS), abort.signal);
      return core.operations.toProto(operation);
    },

    DeleteOperation: (request: NameRequest) => {
      findOperation(core, request.name);
      core.operations.delete(request.name);
      return {};
    },

    CancelOperation: (request: NameRequest) => {
      const operation = findOperation(core, request.name);
      if (operation.kind === 'run') core.scheduler.cancel(operation.execution, 'cancelled');
      return {};
    },
  };
}
