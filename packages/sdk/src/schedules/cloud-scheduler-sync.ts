import type { CloudSchedulerClient, protos } from '@google-cloud/scheduler';

import { DEFAULTS } from '../defaults.js';
import { E11Error, ErrorCode } from '../errors.js';
import { GrpcStatus, fromGrpcError, grpcCodeOf } from '../internal/grpc-errors.js';

type Job = protos.google.cloud.scheduler.v1.IJob;

/** Production wiring: each schedule becomes a Cloud Scheduler job that POSTs to the tick function. */
export interface CloudSchedulerOptions {
  /** @default a `CloudSchedulerClient` with Application Default Credentials, created on first use */
  client?: CloudSchedulerClient;
  /** The project the Cloud Scheduler jobs live in. */
  projectId: string;
  /** The Cloud Scheduler location (region), e.g. `us-central1`. */
  location: string;
  /** The URL of the deployed `schedulerTick` HTTP function; also the OIDC token's audience. */
  targetUrl: string;
  /** The service account Cloud Scheduler signs its OIDC token as (it needs `run.invoker` on the function). */
  serviceAccountEmail: string;
  /** Job ids are `${jobIdPrefix}${scheduleName}`. @default DEFAULTS.scheduleJobIdPrefix ('e11-') */
  jobIdPrefix?: string;
}

/** The schedule fields a Cloud Scheduler job mirrors. */
export interface SchedulerJobSpec {
  name: string;
  cron: string;
  timeZone: string;
  jobName: string;
  enabled: boolean;
}

const PAUSED = new Set<unknown>(['PAUSED', 2]);
const UPDATE_MASK = [
  'description',
  'schedule',
  'time_zone',
  'http_target',
  'retry_config',
  'attempt_deadline',
];

/**
 * Keeps Cloud Scheduler jobs in step with schedules: `projects/{p}/locations/{l}/jobs/e11-{name}` with
 * the schedule's cron and time zone, an HTTP target `POST {targetUrl}` with body `{"scheduleName":name}`
 * and an OIDC token, retries (DEFAULTS.schedulerRetryCount) and an attempt deadline. Google errors
 * become `E11_INVALID_SCHEDULE` (INVALID_ARGUMENT: Cloud Scheduler refused the definition) or
 * `E11_UNAVAILABLE`, keeping their gRPC code.
 */
export class CloudSchedulerSync {
  private client: Promise<CloudSchedulerClient> | undefined;
  private readonly ownsClient: boolean;

  constructor(private readonly options: CloudSchedulerOptions) {
    for (const field of ['projectId', 'location', 'targetUrl', 'serviceAccountEmail'] as const) {
      if (typeof options[field] !== 'string' || options[field] === '') {
        throw new E11Error(ErrorCode.InvalidOptions, `cloudScheduler.${field}: must be a non-empty string.`, {
          context: { path: `cloudScheduler.${field}` },
        });
      }
    }
    if (!/^https:\/\/|^http:\/\//.test(options.targetUrl)) {
      throw new E11Error(ErrorCode.InvalidOptions, 'cloudScheduler.targetUrl: must be an http(s) URL.', {
        context: { path: 'cloudScheduler.targetUrl' },
      });
    }
    this.ownsClient = options.client === undefined;
    if (options.client) this.client = Promise.resolve(options.client);
  }

  /** The full resource name of a schedule's Cloud Scheduler job. */
  jobName(scheduleName: string): string {
    const { projectId, location } = this.options;
    const prefix = this.options.jobIdPrefix ?? DEFAULTS.scheduleJobIdPrefix;
    return `projects/${projectId}/locations/${location}/jobs/${prefix}${scheduleName}`;
  }

  /** Creates or updates the job of a schedule, then pauses or resumes it to match `enabled`. Returns its name. */
  async upsert(spec: SchedulerJobSpec): Promise<string> {
    const client = await this.getClient();
    const job = this.jobFor(spec);
    const name = job.name as string;
    let saved: Job;
    try {
      [saved] = await client.updateJob({ job, updateMask: { paths: UPDATE_MASK } });
    } catch (error) {
      if (grpcCodeOf(error) !== GrpcStatus.NOT_FOUND) throw this.mapError(error, `update ${name}`);
      try {
        [saved] = await client.createJob({
          parent: `projects/${this.options.projectId}/locations/${this.options.location}`,
          job,
        });
      } catch (createError) {
        throw this.mapError(createError, `create ${name}`);
      }
    }
    const paused = PAUSED.has(saved.state);
    if (spec.enabled && paused) await this.resume(spec.name);
    if (!spec.enabled && !paused) await this.pause(spec.name);
    return name;
  }

  /**
   * Pauses (Cloud Scheduler stops calling the tick) or resumes a schedule's job. A job that does not
   * exist (the schedule predates the wiring, or someone deleted it) is created from `spec` instead.
   */
  async setEnabled(spec: SchedulerJobSpec): Promise<string> {
    const name = this.jobName(spec.name);
    try {
      if (spec.enabled) await this.resume(spec.name);
      else await this.pause(spec.name);
    } catch (error) {
      if (grpcCodeOf((error as { cause?: unknown }).cause) !== GrpcStatus.NOT_FOUND) throw error;
      return this.upsert(spec);
    }
    return name;
  }

  private async pause(scheduleName: string): Promise<void> {
    const name = this.jobName(scheduleName);
    await this.call(`pause ${name}`, async (client) => client.pauseJob({ name }));
  }

  private async resume(scheduleName: string): Promise<void> {
    const name = this.jobName(scheduleName);
    await this.call(`resume ${name}`, async (client) => client.resumeJob({ name }));
  }

  /** Deletes a schedule's job; a job that is already gone is fine. */
  async remove(scheduleName: string): Promise<void> {
    const name = this.jobName(scheduleName);
    try {
      await (await this.getClient()).deleteJob({ name });
    } catch (error) {
      if (grpcCodeOf(error) !== GrpcStatus.NOT_FOUND) throw this.mapError(error, `delete ${name}`);
    }
  }

  /** Closes the client if this object created it. */
  async close(): Promise<void> {
    if (this.ownsClient && this.client) await (await this.client).close();
  }

  private jobFor(spec: SchedulerJobSpec): Job {
    const deadlineSeconds = Math.floor(DEFAULTS.schedulerAttemptDeadlineMs / 1_000);
    return {
      name: this.jobName(spec.name),
      description: `E11 schedule '${spec.name}': kicks off '${spec.jobName}'`,
      schedule: spec.cron,
      timeZone: spec.timeZone,
      httpTarget: {
        uri: this.options.targetUrl,
        httpMethod: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: Buffer.from(JSON.stringify({ scheduleName: spec.name })),
        oidcToken: {
          serviceAccountEmail: this.options.serviceAccountEmail,
          audience: this.options.targetUrl,
        },
      },
      retryConfig: { retryCount: DEFAULTS.schedulerRetryCount },
      attemptDeadline: { seconds: deadlineSeconds },
    };
  }

  private async call(
    what: string,
    request: (client: CloudSchedulerClient) => Promise<unknown>,
  ): Promise<void> {
    const client = await this.getClient();
    try {
      await request(client);
    } catch (error) {
      throw this.mapError(error, what);
    }
  }

  private getClient(): Promise<CloudSchedulerClient> {
    this.client ??= import('@google-cloud/scheduler').then(
      ({ CloudSchedulerClient: Client }) => new Client({ projectId: this.options.projectId }),
    );
    return this.client;
  }

  private mapError(error: unknown, what: string): E11Error {
    const code =
      grpcCodeOf(error) === GrpcStatus.INVALID_ARGUMENT ? ErrorCode.InvalidSchedule : ErrorCode.Unavailable;
    return fromGrpcError(error, code, `Cloud Scheduler: ${what}`);
  }
}
