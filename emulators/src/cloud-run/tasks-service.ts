import type { EmulatorCore } from './core.js';
import { findExecution } from './executions-service.js';
import { paginate } from './paging.js';
import { executionName, notFoundMessage, parseTaskName, taskId } from './resource-names.js';
import { invalidArgument, notFound } from './rpc-error.js';
import type { UnaryHandlers } from './server-types.js';
import { taskToProto } from './to-proto.js';

interface GetTaskRequest {
  name: string;
}

interface ListTasksRequest {
  parent: string;
  pageSize: number;
  pageToken: string;
}

/** google.cloud.run.v2.Tasks: GetTask, ListTasks (by index). */
export function tasksHandlers(core: EmulatorCore): UnaryHandlers {
  return {
    GetTask: (request: GetTaskRequest) => {
      const parsed = parseTaskName(request.name);
      if (!parsed) {
        throw invalidArgument(
          `name: '${request.name}' is not a task name (.../executions/{execution}/tasks/{execution}-task{index}).`,
        );
      }
      const execution = core.store.get(executionName(parsed));
      const task = execution?.tasks[parsed.taskIndex];
      if (!execution || !task)
        throw notFound(notFoundMessage('TASK', taskId(parsed.executionId, parsed.taskIndex), parsed));
      return taskToProto(execution, task);
    },

    ListTasks: (request: ListTasksRequest) => {
      const execution = findExecution(core, request.parent);
      const page = paginate(execution.tasks, request.pageSize, request.pageToken);
      return {
        tasks: page.items.map((task) => taskToProto(execution, task)),
        nextPageToken: page.nextPageToken,
      };
    },
  };
}
