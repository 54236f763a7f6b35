import { CloudRunTaskService } from '@e11/core/engine';
import type { ExecutionState, LaunchRequest, LaunchResult, TaskLauncher } from '@e11/core/engine';

/**
 * A {@link CloudRunTaskService} created on first use, so read-only commands (status, history, …)
 * never build a Cloud Run client — which would look up credentials and project on the metadata server.
 */
export class LazyCloudRunLauncher implements TaskLauncher {
  private launcher: CloudRunTaskService | undefined;

  constructor(private readonly projectId: string | undefined) {}

  launch(request: LaunchRequest): Promise<LaunchResult> {
    return this.get().launch(request);
  }

  describe(executionName: string): Promise<ExecutionState | undefined> {
    return this.get().describe(executionName);
  }

  cancel(executionName: string): Promise<void> {
    return this.get().cancel(executionName);
  }

  async close(): Promise<void> {
    await this.launcher?.close();
  }

  private get(): CloudRunTaskService {
    return (this.launcher ??= new CloudRunTaskService({ projectId: this.projectId }));
  }
}
