import { DEFAULTS, E11Error, ErrorCode, GrpcStatus, fromGrpcError, grpcCodeOf } from '@e11/core';
import { scheduleDocId } from '@e11/core/engine';
import type { CloudSchedulerClient, protos } from '@google-cloud/scheduler';

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
  /**
   * Job ids are `${jobIdPrefix}${scheduleDocId(tenant, name)}`: the name for an untenanted schedule,
   * `{encoded tenant}__{name}` for a tenant's. @default DEFAULTS.scheduleJobIdPrefix ('e11-')
   */
  jobIdPrefix?: string;
}

/** Which schedule a Cloud Scheduler job belongs to: its name and tenant (null: untenanted). */
export interface ScheduleKey {
  name: string;
  tenant: string | null;
}

/** The schedule fields a Cloud Scheduler job mirrors. */
export interface SchedulerJobSpec extends ScheduleKey {
  cron: string;
  timeZone: string;
  jobName: string;
  enabled: boolean;
}

/** The body a schedule's job POSTs to the tick function: its name, and its tenant if it has one. */
export function tickBody(key: ScheduleKey): { scheduleName: string; tenant?: string } {
  return key.tenant === null ? { scheduleName: key.name } : { scheduleName: key.name, tenant: key.tenant };
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
 * Keeps Cloud Scheduler jobs in step with schedules: `projects/{p}/locations/{l}/jobs/e11-{id}` (see
 * `scheduleDocId`) with the schedule's cron and time zone, an HTTP target `POST {targetUrl}` with body
 * `{"scheduleName":name}` (and `"tenant"` for a tenant's schedule)
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
  jobName(key: ScheduleKey): string {
    const { projectId, location } = this.options;
    const prefix = this.options.jobIdPrefix ?? DEFAULTS.scheduleJobIdPrefix;
    return `projects/${projectId}/locations/${location}/jobs/${prefix}${scheduleDocId(key.tenant, key.name)}`;
  }

  /**
   * Creates or updates the job of a schedule, then pauses or resumes it to match `enabled`. Returns its
   * name. A job of that name that is not this schedule's is left alone: `E11_INVALID_SCHEDULE`.
   */
  async upsert(spec: SchedulerJobSpec): Promise<string> {
    const client = await this.getClient();
    const job = this.jobFor(spec);
    const name = job.name as string;
    const owner = await this.ownerOf(spec);
    if (owner !== 'none') this.assertOurs(owner, spec);
    let saved: Job;
    try {
      if (owner === 'none') {
        [saved] = await client.createJob({
          parent: `projects/${this.options.projectId}/locations/${this.options.location}`,
          job,
        });
      } else {
        [saved] = await client.updateJob({ job, updateMask: { paths: UPDATE_MASK } });
      }
    } catch (error) {
      throw this.mapError(error, `${owner === 'none' ? 'create' : 'update'} ${name}`);
    }
    const paused = PAUSED.has(saved.state);
    if (spec.enabled && paused) await this.resume(spec);
    if (!spec.enabled && !paused) await this.pause(spec);
    return name;
  }

  /**
   * Pauses (Cloud Scheduler stops calling the tick) or resumes a schedule's job. A job that does not
   * exist (the schedule predates the wiring, or someone deleted it) is created from `spec` instead.
   */
  async setEnabled(spec: SchedulerJobSpec): Promise<string> {
    const owner = await this.ownerOf(spec);
    if (owner === 'none') return this.upsert(spec);
    this.assertOurs(owner, spec);
    if (spec.enabled) await this.resume(spec);
    else await this.pause(spec);
    return this.jobName(spec);
  }

  private async pause(key: ScheduleKey): Promise<void> {
    const name = this.jobName(key);
    await this.call(`pause ${name}`, async (client) => client.pauseJob({ name }));
  }

  private async resume(key: ScheduleKey): Promise<void> {
    const name = this.jobName(key);
    await this.call(`resume ${name}`, async (client) => client.resumeJob({ name }));
  }

  /** Deletes a schedule's job; a job that is already gone, or that is not this schedule's, is left as is. */
  async remove(key: ScheduleKey): Promise<void> {
    const name = this.jobName(key);
    if ((await this.ownerOf(key)) !== 'schedule') return;
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

  /**
   * Who the Cloud Scheduler job of a schedule belongs to: nobody (it does not exist), the schedule (it
   * POSTs the schedule's {@link tickBody}, as {@link jobFor} writes it), or someone else — the sweeper's
   * `e11-sweep` job from deploy/deploy.sh, or an app's own job that shares the name. E11 never changes,
   * pauses or deletes a job it did not create.
   */
  private async ownerOf(key: ScheduleKey): Promise<'none' | 'schedule' | 'other'> {
    const name = this.jobName(key);
    let job: Job;
    try {
      [job] = await (await this.getClient()).getJob({ name });
    } catch (error) {
      if (grpcCodeOf(error) === GrpcStatus.NOT_FOUND) return 'none';
      throw this.mapError(error, `get ${name}`);
    }
    const body = job.httpTarget?.body;
    if (body === undefined || body === null) return 'other';
    try {
      const text =
        typeof body === 'string'
          ? Buffer.from(body, 'base64').toString('utf8')
          : Buffer.from(body).toString('utf8');
      const parsed = JSON.parse(text) as unknown;
      if (typeof parsed !== 'object' || parsed === null) return 'other';
      const { scheduleName, tenant } = parsed as { scheduleName?: unknown; tenant?: unknown };
      return scheduleName === key.name && (tenant ?? null) === key.tenant ? 'schedule' : 'other';
    } catch {
      return 'other';
    }
  }

  private assertOurs(owner: 'schedule' | 'other', key: ScheduleKey): void {
    if (owner === 'schedule') return;
    const scheduleName = key.name;
    const name = this.jobName(key);
    throw new E11Error(
      ErrorCode.InvalidSchedule,
      `name: the Cloud Scheduler job ${name} already exists and is not schedule '${scheduleName}''s ` +
        `(e11-sweep is the sweeper's). E11 does not take over a job it did not create: choose another ` +
        `schedule name or cloudScheduler.jobIdPrefix.`,
      { context: { path: 'name', cloudSchedulerJob: name } },
    );
  }

  private jobFor(spec: SchedulerJobSpec): Job {
    const deadlineSeconds = Math.floor(DEFAULTS.schedulerAttemptDeadlineMs / 1_000);
    return {
      name: this.jobName(spec),
      description: `E11 schedule '${spec.name}': kicks off '${spec.jobName}'`,
      schedule: spec.cron,
      timeZone: spec.timeZone,
      httpTarget: {
        uri: this.options.targetUrl,
        httpMethod: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: Buffer.from(JSON.stringify(tickBody(spec))),
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
