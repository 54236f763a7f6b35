import type { Logger } from '@e11/core';
import { createLogger, E11Error, ErrorCode, isE11Error } from '@e11/core';
import type { ParamsFactories, ScheduleService, TickResult } from '@e11/core/engine';
import type { Request, Response } from '@google-cloud/functions-framework';

/** What the `schedulerTick` handler talks to. Every field is optional; the defaults are production's. */
export interface SchedulerTickDeps {
  /**
   * Kicks off, cancels and reads orchestrations; its store holds the schedules: an engine, or the sdk's
   * `OrchestrationService`.
   * @default an `Engine` with production defaults (project from GOOGLE_CLOUD_PROJECT,
   * FIRESTORE_EMULATOR_HOST and E11_CLOUD_RUN_EMULATOR_HOST honoured), created on the first request
   */
  service?: ScheduleService;
  /** Factories named by schedules' `paramsFactory`. A schedule naming a missing one records a `failed` run. */
  paramsFactories?: ParamsFactories;
  /** @default a pino logger with Cloud Logging fields, level E11_LOG_LEVEL or `info` */
  logger?: Logger;
}

/** An HTTP function for the Functions Framework, with a way to close the clients it created. */
export interface SchedulerTickHandler {
  (req: Request, res: Response): Promise<void>;
  /** Closes the default service this handler created (an injected one is the caller's). */
  close(): Promise<void>;
}

/** The header Cloud Scheduler sets to the job's scheduled fire time (RFC 3339). */
export const SCHEDULE_TIME_HEADER = 'x-cloudscheduler-scheduletime';

type TickRequest = { scheduleName?: string; tenant?: string; fireTime?: Date };

function badRequest(message: string): E11Error {
  return new E11Error(ErrorCode.InvalidOptions, message);
}

/**
 * Reads `{ scheduleName?, tenant? }` from a JSON body (parsed by the framework, or raw) and the
 * schedule-time header. `tenant` names the tenant whose schedule `scheduleName` is (schedule names are
 * per tenant); without it the untenanted schedule of that name is meant.
 */
export function readTickRequest(req: Pick<Request, 'body' | 'header'>): TickRequest {
  let body: unknown = req.body;
  if (Buffer.isBuffer(body)) body = body.toString('utf8');
  if (typeof body === 'string') {
    if (body.trim() === '') body = undefined;
    else {
      try {
        body = JSON.parse(body);
      } catch {
        throw badRequest('body: must be JSON such as {"scheduleName":"nightly-report"}.');
      }
    }
  }
  if (body === undefined || body === null) body = {};
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw badRequest('body: must be a JSON object such as {"scheduleName":"nightly-report"}.');
  }
  const { scheduleName, tenant, ...rest } = body as Record<string, unknown>;
  const extra = Object.keys(rest)[0];
  if (extra !== undefined) {
    throw badRequest(`body.${extra}: unknown field; only scheduleName and tenant are read.`);
  }
  if (scheduleName !== undefined && typeof scheduleName !== 'string') {
    throw badRequest('body.scheduleName: must be a string.');
  }
  if (tenant !== undefined && (typeof tenant !== 'string' || scheduleName === undefined)) {
    throw badRequest('body.tenant: must be a string, given with scheduleName.');
  }
  const named = {
    ...(scheduleName === undefined ? {} : { scheduleName }),
    ...(tenant === undefined ? {} : { tenant }),
  };
  const header = req.header(SCHEDULE_TIME_HEADER);
  if (header === undefined || header === '') return named;
  const fireTime = new Date(header);
  if (Number.isNaN(fireTime.getTime())) {
    throw badRequest(`X-CloudScheduler-ScheduleTime: '${header}' is not an RFC 3339 time.`);
  }
  if (scheduleName === undefined) {
    throw badRequest('body.scheduleName: required with X-CloudScheduler-ScheduleTime.');
  }
  return { ...named, fireTime };
}

/** HTTP status of a failed tick: bad input 400, unknown schedule 404, everything else 500 (Cloud Scheduler retries). */
function statusOf(error: unknown): number {
  if (isE11Error(error, ErrorCode.UnknownSchedule)) return 404;
  if (isE11Error(error) && !error.retryable && error.code.startsWith('E11_INVALID_')) return 400;
  return 500;
}

function oneLine(error: unknown): string {
  const text = isE11Error(error)
    ? `${error.code}: ${error.message}`
    : error instanceof Error
      ? error.message
      : String(error);
  return `${text.replace(/\s+/g, ' ').trim()}\n`;
}

/**
 * Builds the `schedulerTick` HTTP function, the target of every schedule's Cloud Scheduler job (and
 * what the local stack may call). Request: `POST` with body `{"scheduleName": name}` — plus
 * `"tenant": t` for a tenant's schedule — (omit it to tick every enabled schedule of every tenant) and, from Cloud Scheduler, `X-CloudScheduler-ScheduleTime` — used as the fire
 * time; without it the latest due fire time is derived from the cron. Runs `runScheduleTick`, whose
 * idempotency key `schedule:{name}:{fireTime}` makes a duplicated or retried tick launch nothing
 * twice. Answers 200 with `{ results }`, 400 for a malformed request, 404 for an unknown schedule,
 * 405 for another method, and 500 (one line, logged) for a failure worth retrying.
 */
export function createSchedulerTickHandler(deps: SchedulerTickDeps = {}): SchedulerTickHandler {
  const logger = deps.logger ?? createLogger('e11-functions', { level: process.env.E11_LOG_LEVEL ?? 'info' });
  let owned: Promise<{ close(): Promise<void> } & ScheduleService> | undefined;
  // The engine (Cloud Run client) loads on the first tick only, so other functions' cold starts stay light.
  const engine = () => import('@e11/core/engine');
  const serviceFor = async (): Promise<ScheduleService> => {
    if (deps.service) return deps.service;
    owned ??= engine().then(({ createEngine }) => createEngine({ logger }));
    return owned;
  };

  const handler = async (req: Request, res: Response): Promise<void> => {
    if (req.method !== 'POST') {
      res.status(405).set('Allow', 'POST').type('text/plain').send('Use POST.\n');
      return;
    }
    let request: TickRequest;
    try {
      request = readTickRequest(req);
    } catch (error) {
      logger.warn(
        { err: isE11Error(error) ? error.toJSON() : String(error) },
        'Rejected scheduler tick request',
      );
      res.status(400).type('text/plain').send(oneLine(error));
      return;
    }
    try {
      const [{ runScheduleTick }, unscoped] = await Promise.all([engine(), serviceFor()]);
      // A tenant's schedule is found (and fired) by a service scoped to that tenant.
      const { tenant, ...tick } = request;
      const service = tenant === undefined ? unscoped : unscoped.forTenant(tenant);
      const results: TickResult[] = await runScheduleTick(
        { service, paramsFactories: deps.paramsFactories, logger },
        tick,
      );
      logger.info(
        {
          scheduleName: request.scheduleName ?? null,
          tenant: request.tenant ?? null,
          fireTime: request.fireTime?.toISOString() ?? null,
          cloudSchedulerJob: req.header('x-cloudscheduler-jobname') ?? null,
          results,
        },
        'Scheduler tick done',
      );
      res.status(200).json({ results });
    } catch (error) {
      const status = statusOf(error);
      if (status === 500)
        logger.error(
          { err: error, scheduleName: request.scheduleName },
          'Scheduler tick failed; Cloud Scheduler retries it',
        );
      else
        logger.warn({ err: isE11Error(error) ? error.toJSON() : String(error) }, 'Rejected scheduler tick');
      res.status(status).type('text/plain').send(oneLine(error));
    }
  };

  return Object.assign(handler, {
    async close() {
      if (owned) await (await owned).close();
    },
  });
}
