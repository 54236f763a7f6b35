import type { v2 } from '@google-cloud/run';
import { createExecutionsClient, createJobsClient } from '../clients/cloud-run.js';
import { resolveProjectId } from '../clients/firestore.js';
import { requireRegion } from '../clients/region.js';
import { DEFAULTS } from '../defaults.js';
import { E11Error, ErrorCode, type ErrorCodeValue } from '../errors.js';
import { fromGrpcError, GrpcStatus, grpcCodeOf } from '../internal/grpc-errors.js';

import type { ExecutionState, LaunchRequest, LaunchResult, TaskLauncher } from './task-launcher.js';

/** Options for {@link CloudRunTaskService}. */
export interface CloudRunTaskServiceOptions {
  /** Google Cloud project; defaults to GOOGLE_CLOUD_PROJECT or the client's detected project. */
  projectId?: string;
  /**
   * Cloud Run region. @default E11_REGION, CLOUD_RUN_REGION, CLOUDSDK_RUN_REGION,
   * CLOUDSDK_COMPUTE_REGION, or the active gcloud configuration's `run/region` / `compute/region`; the
   * constructor throws `E11_INVALID_OPTIONS` when none names one (there is no default region).
   */
  region?: string;
  /** A ready JobsClient (e.g. pointed at the local emulator). */
  jobsClient?: v2.JobsClient;
  /** A ready ExecutionsClient for cancel and describe. */
  executionsClient?: v2.ExecutionsClient;
  /** `host:port` of a Cloud Run Admin API server (the local emulator); defaults to E11_CLOUD_RUN_EMULATOR_HOST. */
  endpoint?: string;
}

/**
 * Launches Cloud Run job executions with `JobsClient.runJob` and container overrides. It returns as
 * soon as the execution exists — the long-running operation ends only when the execution ends, so it
 * is never awaited; the execution name comes from the operation's metadata. Works the same against
 * Cloud Run and the local emulator.
 */
export class CloudRunTaskService implements TaskLauncher {
  private readonly jobs: v2.JobsClient;
  private executions: v2.ExecutionsClient | undefined;
  /** The Cloud Run region it launches into. */
  readonly region: string;
  private projectId: string | undefined;
  /** Clients passed in belong to the caller and are not closed here. */
  private readonly owned: { close(): Promise<void> }[] = [];
  private credentials: Promise<void> | undefined;
  /** Whether calls need Google credentials: not with injected clients, nor against the emulator. */
  private readonly needsCredentials: boolean;

  constructor(private readonly options: CloudRunTaskServiceOptions = {}) {
    this.projectId = resolveProjectId(options.projectId);
    this.region = requireRegion(options.region, process.env);
    this.jobs =
      options.jobsClient ??
      this.own(createJobsClient({ projectId: this.projectId, emulatorHost: options.endpoint }));
    this.executions = options.executionsClient;
    this.needsCredentials =
      options.jobsClient === undefined && !(options.endpoint ?? process.env.E11_CLOUD_RUN_EMULATOR_HOST);
  }

  /** The full Cloud Run job resource name for a job id. */
  async jobResourceName(service: string): Promise<string> {
    this.projectId ??= await this.jobs.getProjectId();
    return `projects/${this.projectId}/locations/${this.region}/jobs/${service}`;
  }

  async launch(request: LaunchRequest): Promise<LaunchResult> {
    await this.credentialsReady(ErrorCode.LaunchFailed);
    const name = await this.jobResourceName(request.service);
    const timeout =
      request.timeoutMs == null
        ? undefined
        : { seconds: Math.floor(request.timeoutMs / 1000), nanos: (request.timeoutMs % 1000) * 1_000_000 };
    let metadata: { name?: string | null } | null | undefined;
    try {
      const [operation] = await this.jobs.runJob({
        name,
        overrides: {
          containerOverrides: [
            {
              env: Object.entries(request.env).map(([envName, value]) => ({ name: envName, value })),
              ...(request.args ? { args: [...request.args] } : {}),
            },
          ],
          taskCount: request.taskCount,
          ...(timeout ? { timeout } : {}),
        },
      });
      metadata = operation.metadata as typeof metadata;
    } catch (error) {
      throw fromGrpcError(error, ErrorCode.LaunchFailed, `Cloud Run could not run job ${name}`, {
        executionName: name,
      });
    }
    const executionName = metadata?.name ?? undefined;
    if (!executionName) {
      throw new E11Error(
        ErrorCode.LaunchFailed,
        `Cloud Run accepted ${name} but returned no execution name.`,
        {
          retryable: false,
        },
      );
    }
    return { executionName };
  }

  /**
   * Reads the execution (`ExecutionsClient.getExecution`): it is done once Cloud Run set its
   * `completionTime`; the message is its `Completed` condition's. Undefined when Cloud Run no longer
   * has it (it keeps the last 1,000 executions of a job) or the name is not one of its executions.
   */
  async describe(executionName: string): Promise<ExecutionState | undefined> {
    await this.credentialsReady(ErrorCode.Unavailable);
    const execution = await this.executionsClient()
      .getExecution({ name: executionName })
      .then(
        ([found]) => found,
        (error: unknown) => {
          // Gone from Cloud Run's history, or not a Cloud Run execution name at all: unknown here.
          const code = grpcCodeOf(error);
          if (code === GrpcStatus.NOT_FOUND || code === GrpcStatus.INVALID_ARGUMENT) return undefined;
          throw fromGrpcError(error, ErrorCode.Unavailable, `Could not read ${executionName}`, {
            executionName,
          });
        },
      );
    if (!execution) return undefined;
    const completed = execution.conditions?.find((condition) => condition.type === 'Completed');
    return {
      done: execution.completionTime != null,
      succeeded: execution.succeededCount ?? 0,
      failed: execution.failedCount ?? 0,
      cancelled: execution.cancelledCount ?? 0,
      ...(completed?.message ? { message: completed.message } : {}),
    };
  }

  /** The job's first container's `resources.limits` (`JobsClient.getJob`); undefined when it sets none. */
  async jobLimits(service: string): Promise<{ cpu?: string; memory?: string } | undefined> {
    await this.credentialsReady(ErrorCode.Unavailable);
    const name = await this.jobResourceName(service);
    let limits: Record<string, string> | null | undefined;
    try {
      // Bounded: a kick-off waits for this read, and an unreachable Cloud Run only costs the defaults.
      const [job] = await this.jobs.getJob({ name }, { timeout: DEFAULTS.jobLimitsReadTimeoutMs });
      limits = job.template?.template?.containers?.[0]?.resources?.limits;
    } catch (error) {
      throw fromGrpcError(error, ErrorCode.Unavailable, `Could not read Cloud Run job ${name}`, {});
    }
    if (!limits) return undefined;
    return {
      ...(limits.cpu ? { cpu: limits.cpu } : {}),
      ...(limits.memory ? { memory: limits.memory } : {}),
    };
  }

  async cancel(executionName: string): Promise<void> {
    await this.credentialsReady(ErrorCode.Unavailable);
    try {
      await this.executionsClient().cancelExecution({ name: executionName });
    } catch (error) {
      const code = grpcCodeOf(error);
      // Already finished or gone: nothing to stop.
      if (code === GrpcStatus.NOT_FOUND || code === GrpcStatus.FAILED_PRECONDITION) return;
      throw fromGrpcError(error, ErrorCode.Unavailable, `Could not cancel ${executionName}`, {
        executionName,
      });
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.owned.splice(0).map((client) => client.close()));
  }

  /**
   * Resolves once Google's default credentials load, for the clients this service creates against Cloud
   * Run (not the emulator's, not injected ones). Without credentials a Google client's first call
   * rejects AND leaves rejections nobody handles inside the client, which end a Node process; checking
   * first turns that into one E11_UNAVAILABLE. Checked once per service.
   */
  private async credentialsReady(code: ErrorCodeValue): Promise<void> {
    if (!this.needsCredentials) return;
    this.credentials ??= this.jobs.auth.getClient().then(() => undefined);
    try {
      await this.credentials;
    } catch (error) {
      this.credentials = undefined;
      const reason = error instanceof Error ? error.message : String(error);
      throw new E11Error(code, `No Google credentials to call Cloud Run with: ${reason}`, {
        retryable: true,
        cause: error,
      });
    }
  }

  private executionsClient(): v2.ExecutionsClient {
    return (this.executions ??= this.own(
      createExecutionsClient({ projectId: this.projectId, emulatorHost: this.options.endpoint }),
    ));
  }

  private own<T extends { close(): Promise<void> }>(client: T): T {
    this.owned.push(client);
    return client;
  }
}
