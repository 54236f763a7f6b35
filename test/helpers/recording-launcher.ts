import { E11Error, ErrorCode } from '@e11/core';
import { type ExecutionState, type LaunchRequest, type LaunchResult, type TaskLauncher } from '@e11/sdk';

/**
 * A launcher that records every launch request and starts nothing — the "launcher that records
 * calls" the SDK tests use where no task needs to run. `failWith` makes chosen requests fail the way
 * CloudRunTaskService reports Cloud Run errors (E11_LAUNCH_FAILED with a gRPC code and `retryable`).
 */
export class RecordingLauncher implements TaskLauncher {
  readonly requests: LaunchRequest[] = [];
  readonly cancelled: string[] = [];
  /** What `describe` answers, set by the test; an execution not listed is unknown (undefined). */
  readonly states = new Map<string, ExecutionState>();
  private rules: {
    match: (request: LaunchRequest, sequence: number) => boolean;
    grpcCode: number;
    times: number;
  }[] = [];

  /** Fails the next `times` matching requests (`sequence` counts requests from 0) with `grpcCode` (8 and 14 are retryable). */
  failWith(
    match: (request: LaunchRequest, sequence: number) => boolean,
    grpcCode: number,
    times = Infinity,
  ): this {
    this.rules.push({ match, grpcCode, times });
    return this;
  }

  launch(request: LaunchRequest): Promise<LaunchResult> {
    const sequence = this.requests.push(request) - 1;
    const rule = this.rules.find((candidate) => candidate.times > 0 && candidate.match(request, sequence));
    if (rule) {
      rule.times--;
      const retryable = rule.grpcCode === 8 || rule.grpcCode === 14;
      return Promise.reject(
        new E11Error(ErrorCode.LaunchFailed, `simulated Cloud Run error ${rule.grpcCode}`, {
          retryable,
          context: { grpcCode: rule.grpcCode },
        }),
      );
    }
    return Promise.resolve({
      executionName: `projects/p/locations/r/jobs/${request.service}/executions/e${this.requests.length}`,
    });
  }

  describe(executionName: string): Promise<ExecutionState | undefined> {
    return Promise.resolve(this.states.get(executionName));
  }

  cancel(executionName: string): Promise<void> {
    this.cancelled.push(executionName);
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
