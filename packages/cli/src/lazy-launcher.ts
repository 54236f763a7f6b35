import { requireRegion } from '@e11/core';
import {
  CloudRunTaskService,
  type ExecutionState,
  type LaunchRequest,
  type LaunchResult,
  type TaskLauncher,
} from '@e11/sdk';

/**
 * A {@link CloudRunTaskService} created on first use, so read-only commands (status, history, …)
 * never build a Cloud Run client — which would look up credentials and project on the metadata server —
 * and need no region. A command that launches or cancels without a region fails with
 * `E11_INVALID_OPTIONS` saying how to set one.
 */
export class LazyCloudRunLauncher implements TaskLauncher {
  private launcher: CloudRunTaskService | undefined;

  constructor(
    private readonly projectId: string | undefined,
    /** The region from `--region` or the environment; undefined: none named (yet required to launch). */
    readonly region: string | undefined,
  ) {}

  launch(request: LaunchRequest): Promise<LaunchResult> {
    return this.get().launch(request);
  }

  describe(executionName: string): Promise<ExecutionState | undefined> {
    return this.get().describe(executionName);
  }

  /** The Cloud Run job's limits, for costing; undefined (Cloud Run's defaults) when no region is named. */
  async jobLimits(service: string): Promise<{ cpu?: string; memory?: string } | undefined> {
    if (this.region === undefined) return undefined;
    return this.get().jobLimits(service);
  }

  cancel(executionName: string): Promise<void> {
    return this.get().cancel(executionName);
  }

  async close(): Promise<void> {
    await this.launcher?.close();
  }

  private get(): CloudRunTaskService {
    return (this.launcher ??= new CloudRunTaskService({
      projectId: this.projectId,
      region: requireRegion(
        this.region,
        process.env,
        'Launching or cancelling (kickoff, retry, resume, cancel)',
      ),
    }));
  }
}
