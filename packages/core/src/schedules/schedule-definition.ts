import { DEFAULTS } from '../defaults.js';
import { E11Error, ErrorCode } from '../errors.js';
import { type JobParams } from '../model/json.js';
import { compileKickOffOptions, type KickOffOptions } from '../orchestration/options.js';
import { type ServiceNameMapping, serviceNameFor } from '../validate/job-name.js';
import { firestoreValueSize, validateParamsList } from '../validate/params.js';

import { CronSchedule } from './cron.js';
import { type OverlapPolicy, overlapSchema, scheduleKickOffSchema } from './schedule-documents.js';

/** Kick-off options a schedule applies to each run: every {@link KickOffOptions} field but the two a tick sets. */
export type ScheduleKickOffOptions = Omit<KickOffOptions, 'idempotencyKey' | 'background'>;

/** Builds the params of one run at tick time; receives the scheduled fire time. */
export type ParamsFactory = (fireTime: Date) => readonly JobParams[] | Promise<readonly JobParams[]>;

/** Params factories by name, given to whatever runs the tick (the function, the local scheduler). */
export type ParamsFactories = Readonly<Record<string, ParamsFactory>>;

/** A schedule as given to `schedules.upsert()`. */
export interface ScheduleDefinition {
  /** 1-63 lower-case letters, digits and `-`, starting with a letter (it also names the Cloud Scheduler job). */
  name: string;
  /** 5-field unix cron, e.g. `'0 3 * * *'`, read in `timeZone`. */
  cron: string;
  /** IANA time zone. @default 'UTC' */
  timeZone?: string;
  /** The `@JobName` each run kicks off. */
  jobName: string;
  /** The parameter sets of every run (one job each). Give this or `paramsFactory`. */
  params?: readonly JobParams[];
  /** The name of a {@link ParamsFactory} the tick resolves at fire time. Give this or `params`. */
  paramsFactory?: string;
  /** What to do when the previous run is still Pending/InProgress. @default 'skip' */
  overlap?: OverlapPolicy;
  /** @default true */
  enabled?: boolean;
  /** Options of every kick-off (tags, topic, mode, retry, timeouts). Runs also get the tag `schedule: name`. */
  kickOff?: ScheduleKickOffOptions;
}

/** A definition after validation, ready to store. */
export interface CompiledSchedule {
  name: string;
  cron: string;
  timeZone: string;
  jobName: string;
  params: JobParams[] | null;
  paramsFactory: string | null;
  overlap: OverlapPolicy;
  enabled: boolean;
  kickOff: ScheduleKickOffOptions;
  /** The compiled expression, for fire-time arithmetic. */
  schedule: CronSchedule;
}

/** What a definition is checked against besides itself. */
export interface DefinitionContext {
  /** When given, job names outside it are unknown (`E11_UNKNOWN_JOB_NAME`). */
  knownJobNames?: readonly string[];
  /** When given, a `paramsFactory` outside it is unknown (`E11_INVALID_SCHEDULE`). */
  paramsFactories?: ParamsFactories;
  /** Job name → Cloud Run job id, as the service maps it. @default lower-case, `_` → `-` */
  serviceName?: ServiceNameMapping;
}

const SCHEDULE_NAME = /^[a-z][a-z0-9-]{0,62}$/;
const FACTORY_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,62}$/;
const FIELDS = new Set([
  'name',
  'cron',
  'timeZone',
  'jobName',
  'params',
  'paramsFactory',
  'overlap',
  'enabled',
  'kickOff',
]);

function invalid(path: string, message: string): never {
  throw new E11Error(ErrorCode.InvalidSchedule, `${path}: ${message}`, { context: { path } });
}

/** Throws `E11_INVALID_SCHEDULE` (path `name`) unless `name` is a valid schedule name. */
export function validateScheduleName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !SCHEDULE_NAME.test(name)) {
    invalid(
      'name',
      `must be 1-63 lower-case letters, digits or '-', starting with a letter (e.g. 'nightly-report'), got ${JSON.stringify(name)}.`,
    );
  }
}

/**
 * Validates a definition and fills defaults. Pure: nothing is read or written. Errors name the field:
 * `E11_INVALID_SCHEDULE` (name, cron, timeZone, overlap, enabled, params/paramsFactory, unknown fields),
 * `E11_INVALID_JOB_NAME` / `E11_UNKNOWN_JOB_NAME` (jobName), `E11_INVALID_PARAMS` / `E11_TOO_MANY_JOBS`
 * (params, including an empty list), `E11_INVALID_OPTIONS` (kickOff).
 */
export function compileScheduleDefinition(input: unknown, context: DefinitionContext = {}): CompiledSchedule {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    invalid('definition', 'must be an object with name, cron, jobName and params or paramsFactory.');
  }
  const unknownField = Object.keys(input).find((key) => !FIELDS.has(key));
  if (unknownField !== undefined) invalid(unknownField, 'is not a schedule field.');
  const d = input as Partial<Record<keyof ScheduleDefinition, unknown>>;

  validateScheduleName(d.name);
  const timeZone = d.timeZone ?? 'UTC';
  const schedule = new CronSchedule(d.cron as string, timeZone as string);

  serviceNameFor(d.jobName as string, context.serviceName);
  const jobName = d.jobName as string;
  if (context.knownJobNames && !context.knownJobNames.includes(jobName)) {
    throw new E11Error(
      ErrorCode.UnknownJobName,
      `jobName: '${jobName}' is not one of the known job names (${context.knownJobNames.join(', ')}).`,
      { context: { jobName, path: 'jobName' } },
    );
  }

  const overlap = overlapSchema.safeParse(d.overlap ?? 'skip');
  if (!overlap.success) {
    invalid('overlap', `must be 'skip', 'allow' or 'cancel-previous', got ${JSON.stringify(d.overlap)}.`);
  }
  const enabled = d.enabled ?? true;
  if (typeof enabled !== 'boolean') invalid('enabled', `must be a boolean, got ${JSON.stringify(enabled)}.`);

  const { params, paramsFactory } = compileParams(d.params, d.paramsFactory, context.paramsFactories);
  const kickOff = compileKickOff(d.kickOff);
  return {
    name: d.name,
    cron: schedule.expression,
    timeZone: schedule.timeZone,
    jobName,
    params,
    paramsFactory,
    overlap: overlap.data,
    enabled,
    kickOff,
    schedule,
  };
}

function compileParams(
  params: unknown,
  paramsFactory: unknown,
  factories: ParamsFactories | undefined,
): { params: JobParams[] | null; paramsFactory: string | null } {
  if ((params === undefined) === (paramsFactory === undefined)) {
    invalid(
      'params',
      'give either params (a list of parameter sets) or paramsFactory (a factory name), not both.',
    );
  }
  if (paramsFactory !== undefined) {
    if (typeof paramsFactory !== 'string' || !FACTORY_NAME.test(paramsFactory)) {
      invalid(
        'paramsFactory',
        `must be 1-63 letters, digits, '_', '.' or '-', starting with a letter, got ${JSON.stringify(paramsFactory)}.`,
      );
    }
    if (factories && !Object.hasOwn(factories, paramsFactory)) {
      invalid(
        'paramsFactory',
        `'${paramsFactory}' is not one of the registered factories (${Object.keys(factories).join(', ')}).`,
      );
    }
    return { params: null, paramsFactory };
  }
  validateParamsList(params, {
    maxJobs: DEFAULTS.maxJobsPerOrchestration,
    maxParamsBytes: DEFAULTS.maxParamsBytes,
  });
  const size = firestoreValueSize(params);
  if (size > DEFAULTS.maxScheduleParamsBytes) {
    throw new E11Error(
      ErrorCode.InvalidParams,
      `params: ${size} bytes is over the ${DEFAULTS.maxScheduleParamsBytes}-byte limit of a schedule's stored params; ` +
        `use a paramsFactory that builds them at fire time.`,
      { context: { path: 'params' } },
    );
  }
  return { params: structuredClone(params), paramsFactory: null };
}

function compileKickOff(kickOff: unknown): ScheduleKickOffOptions {
  if (kickOff === undefined) return {};
  if (typeof kickOff === 'object' && kickOff !== null) {
    for (const field of ['idempotencyKey', 'background']) {
      if (field in kickOff)
        invalid(`kickOff.${field}`, 'is set by each run of the schedule, not by its definition.');
    }
  }
  const parsed = scheduleKickOffSchema.safeParse(kickOff);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = ['kickOff', ...(issue?.path ?? []).map(String)].join('.');
    throw new E11Error(ErrorCode.InvalidOptions, `${path}: ${issue?.message ?? 'invalid'}.`, {
      context: { path },
    });
  }
  // The same validation a kick-off runs (durations, ranges, tags, topic), so a bad option fails now, not at 3 a.m.
  compileKickOffOptions(parsed.data, {
    topic: DEFAULTS.topic,
    launchConcurrency: DEFAULTS.launchConcurrency,
  });
  // A JSON round trip drops keys given as undefined, which Firestore refuses to store.
  return JSON.parse(JSON.stringify(parsed.data)) as ScheduleKickOffOptions;
}
