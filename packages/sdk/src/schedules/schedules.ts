import { DEFAULTS, E11Error, ErrorCode, type Logger, type ServiceNameMapping } from '@e11/core';

import type { ScheduleDoc } from '@e11/core/engine';
import {
  compileScheduleDefinition,
  type ParamsFactories,
  type ScheduleDefinition,
  validateScheduleName,
} from '@e11/core/engine';
import { runScheduleTick, type TickOptions } from '@e11/core/engine';
import { listScheduleRuns, manualRunId } from '@e11/core/engine';
import { fireSchedule, type ScheduleService, type TickResult } from '@e11/core/engine';
import { serviceJobDefinitions, serviceStore } from '@e11/core/engine';
import { scheduleRef } from '@e11/core/engine';
import { readOrchestrationStatuses } from '@e11/core/engine';
import {
  deleteSchedule,
  listScheduleDocs,
  loadSchedule,
  saveSchedule,
  setScheduleEnabled,
} from '@e11/core/engine';
import { onFirestore } from '../on-firestore.js';
import { CloudSchedulerSync, type CloudSchedulerOptions } from './cloud-scheduler-sync.js';
import {
  type ScheduleInfo,
  type ScheduleRunInfo,
  toScheduleInfo,
  toScheduleRunInfo,
} from './schedule-views.js';

/** How {@link Schedules} is built. Every field is optional. */
export interface SchedulesOptions {
  /**
   * The job names a schedule may name. The SDK cannot see the runner's `@JobName` classes, so by
   * default any well-formed name that maps to a valid Cloud Run job id is accepted; give the list to
   * reject the others as `E11_UNKNOWN_JOB_NAME`.
   */
  knownJobNames?: readonly string[];
  /** Job name → Cloud Run job id, as the service maps it. @default lower-case, `_` → `-` */
  serviceName?: ServiceNameMapping;
  /**
   * Params factories for `trigger()` and `tick()` run from this object; when given, `upsert()` also
   * rejects a `paramsFactory` not among them. The deployed tick function gets its own registry.
   */
  paramsFactories?: ParamsFactories;
  /**
   * Production wiring: every upsert/pause/resume/remove is mirrored on a Cloud Scheduler job that calls
   * the `schedulerTick` function. Without it (local development) nothing is sent to Cloud Scheduler and
   * `startLocalScheduler` runs the tick on a timer.
   */
  cloudScheduler?: CloudSchedulerOptions;
  /**
   * What fires the schedules. With `cloudScheduler`, its Cloud Scheduler jobs. Otherwise declare
   * `'external'`: something else calls the tick — `startLocalScheduler`, the local stack, or your own
   * timer calling `tick()` or the `schedulerTick` function. Without either, `upsert()` and `resume()`
   * throw `E11_INVALID_OPTIONS`: a schedule nothing ticks would never fire.
   * @default `'external'` when E11_SCHEDULE_TICKER is `external` (the local stack sets it), else none
   */
  ticker?: 'external';
  /** @default the service's logger */
  logger?: Logger;
}

/**
 * Cron schedules of kick-offs, stored in Firestore (`{prefix}schedules/{id}`, runs in
 * `{prefix}schedules/{id}/runs`, where the id is the name, or for a tenant's schedule the encoded
 * tenant and the name: see `scheduleDocId`). Names are per tenant: a tenant-scoped service's schedules
 * are its own, and another tenant's schedule of any name answers as one that does not exist. Each fire kicks off `jobName` with an idempotency key derived
 * from the schedule name and the fire time, so a duplicated or retried tick never runs twice; overlap
 * with a still-running previous run is skipped, allowed or cancelled per schedule. Get one from
 * `orchestrations.schedules`, or build it with options (Cloud Scheduler wiring, known job names).
 */
export class Schedules {
  private readonly sync: CloudSchedulerSync | undefined;
  private readonly logger: Logger;
  /** Whether something fires the schedules (Cloud Scheduler wiring, or a declared external ticker). */
  private readonly ticked: boolean;

  /** Throws `E11_INVALID_OPTIONS` for a `ticker` or E11_SCHEDULE_TICKER other than `'external'`. */
  constructor(
    private readonly service: ScheduleService,
    private readonly options: SchedulesOptions = {},
  ) {
    this.sync = options.cloudScheduler ? new CloudSchedulerSync(options.cloudScheduler) : undefined;
    this.logger = options.logger ?? service.logger;
    this.ticked = this.sync !== undefined || resolveTicker(options.ticker, process.env) === 'external';
  }

  /** The service's store, read through the package-internal accessor (a service exposes none). */
  /** A schedule as shown: params redacted with its kick-off's keys and its job class's declared ones. */
  #info(doc: ScheduleDoc): ScheduleInfo {
    const { options } = serviceJobDefinitions(this.service).resolve(doc.jobName, doc.kickOff);
    return toScheduleInfo(doc, options?.sensitiveKeys ?? []);
  }

  get #store() {
    return serviceStore(this.service);
  }

  /**
   * Creates or replaces a schedule. Validates everything first — nothing is stored (and nothing is sent
   * to Cloud Scheduler) for bad input: `E11_INVALID_SCHEDULE` (name, cron, timeZone, overlap, params vs
   * paramsFactory), `E11_INVALID_JOB_NAME` / `E11_UNKNOWN_JOB_NAME`, `E11_INVALID_PARAMS` (including
   * an empty list), `E11_INVALID_OPTIONS` (kickOff). With Cloud Scheduler wiring the job is created or
   * updated before the document is written.
   */
  async upsert(definition: ScheduleDefinition): Promise<ScheduleInfo> {
    return onFirestore(async () => {
      this.assertTicked('upsert');
      const compiled = compileScheduleDefinition(definition, {
        knownJobNames: this.options.knownJobNames,
        paramsFactories: this.options.paramsFactories,
        serviceName: this.options.serviceName,
      });
      const tenant = this.#store.tenant;
      const cloudSchedulerJob = this.sync ? await this.sync.upsert({ ...compiled, tenant }) : null;
      const { doc, created } = await saveSchedule(this.#store, compiled, { cloudSchedulerJob });
      this.logger.info(
        { schedule: doc.name, cron: doc.cron, timeZone: doc.timeZone },
        created ? 'Schedule created' : 'Schedule updated',
      );
      return this.#info(doc);
    });
  }

  /** One schedule; `E11_UNKNOWN_SCHEDULE` if none. */
  async get(name: string): Promise<ScheduleInfo> {
    return onFirestore(async () => this.#info(await this.load(name)));
  }

  /**
   * Every schedule, by name. A tenant-scoped service lists its tenant's only; an unscoped one lists every
   * tenant's, each with its `tenant` (two tenants may each own a schedule of one name).
   */
  async list(): Promise<ScheduleInfo[]> {
    return onFirestore(async () => (await listScheduleDocs(this.#store)).map((doc) => this.#info(doc)));
  }

  /** Stops a schedule from firing (and pauses its Cloud Scheduler job). Manual triggers still work. */
  async pause(name: string): Promise<ScheduleInfo> {
    return onFirestore(() => this.setEnabled(name, false));
  }

  /** Lets a paused schedule fire again from its next fire time on; times missed while paused do not run. */
  async resume(name: string): Promise<ScheduleInfo> {
    return onFirestore(async () => {
      this.assertTicked('resume');
      return this.setEnabled(name, true);
    });
  }

  /** Deletes a schedule, its run history and its Cloud Scheduler job. Orchestrations it launched stay. */
  async remove(name: string): Promise<void> {
    return onFirestore(async () => {
      await this.load(name);
      if (this.sync) await this.sync.remove({ name, tenant: this.#store.tenant });
      await deleteSchedule(this.#store, name);
    });
  }

  /**
   * Runs a schedule now (even a paused one), with the idempotency key `schedule:{name}:manual:{now ISO}`.
   * Overlap prevention applies unless `force`. The result says whether it launched, was skipped or failed.
   */
  async trigger(name: string, options: { force?: boolean } = {}): Promise<TickResult> {
    return onFirestore(async () => {
      const schedule = await this.load(name);
      const at = new Date(this.#store.clock.now());
      return fireSchedule(this.tickDeps(), schedule, {
        id: manualRunId(at),
        trigger: 'manual',
        firedAt: at,
        idempotencyKey: `schedule:${name}:manual:${at.toISOString()}`,
        force: options.force ?? false,
      });
    });
  }

  /**
   * A schedule's past runs, newest first: fire time, outcome (`launched`, `skipped`, `failed`; `pending`
   * while a tick decides it), orchestration id and its current status, skip/fail reason.
   */
  async runs(name: string, options: { limit?: number } = {}): Promise<ScheduleRunInfo[]> {
    return onFirestore(async () => {
      const limit = options.limit ?? DEFAULTS.scheduleRunsPageSize;
      if (!Number.isInteger(limit) || limit < 1 || limit > 1_000) {
        throw new E11Error(
          ErrorCode.InvalidOptions,
          `limit: must be an integer from 1 to 1000, got ${String(limit)}.`,
          {
            context: { path: 'limit' },
          },
        );
      }
      await this.load(name);
      const runs = await listScheduleRuns(this.#store, name, limit);
      const statuses = await readOrchestrationStatuses(
        this.#store,
        runs.flatMap((run) => (run.orchestrationId === null ? [] : [run.orchestrationId])),
      );
      return runs.map((run) =>
        toScheduleRunInfo(
          run,
          run.orchestrationId === null ? null : (statuses.get(run.orchestrationId) ?? null),
        ),
      );
    });
  }

  /** One tick from this process (see `runScheduleTick`), with this object's params factories. */
  tick(options?: TickOptions): Promise<TickResult[]> {
    return onFirestore(() => runScheduleTick(this.tickDeps(), options));
  }

  /** Releases the Cloud Scheduler client if this object created it. */
  async close(): Promise<void> {
    await this.sync?.close();
  }

  /** Refuses to make a schedule fire when nothing fires schedules (see `SchedulesOptions.ticker`). */
  private assertTicked(method: string): void {
    if (this.ticked) return;
    throw new E11Error(
      ErrorCode.InvalidOptions,
      `ticker: schedules.${method}() without anything that fires schedules: the schedule would never run. ` +
        "Pass `cloudScheduler` to new Schedules(service, options) (Cloud Scheduler jobs call the schedulerTick function), or declare `ticker: 'external'` (or E11_SCHEDULE_TICKER=external) when startLocalScheduler or your own timer calls tick().",
      {
        context: {
          path: 'ticker',
          hint: 'In production, build `new Schedules(orchestrations, { cloudScheduler: { projectId, location, targetUrl, serviceAccountEmail } })`; see docs/production.md.',
        },
      },
    );
  }

  private async setEnabled(name: string, enabled: boolean): Promise<ScheduleInfo> {
    const current = await this.load(name);
    // The job of the schedule as this service addresses it (its document's place), as upsert and remove do.
    const spec = { ...current, enabled, tenant: this.#store.tenant };
    const cloudSchedulerJob = this.sync ? await this.sync.setEnabled(spec) : null;
    let doc = await setScheduleEnabled(this.#store, name, enabled);
    if (cloudSchedulerJob !== null && doc.cloudSchedulerJob !== cloudSchedulerJob) {
      // The schedule predates the Cloud Scheduler wiring: record the job that now mirrors it.
      await scheduleRef(this.#store, name).update({ cloudSchedulerJob });
      doc = { ...doc, cloudSchedulerJob };
    }
    this.logger.info({ schedule: name }, enabled ? 'Schedule resumed' : 'Schedule paused');
    return this.#info(doc);
  }

  private async load(name: string): Promise<ScheduleDoc> {
    validateScheduleName(name);
    return loadSchedule(this.#store, name);
  }

  private tickDeps() {
    return { service: this.service, paramsFactories: this.options.paramsFactories, logger: this.logger };
  }
}

/** The declared ticker: the option, else E11_SCHEDULE_TICKER; only `'external'` is a valid value. */
function resolveTicker(
  ticker: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): 'external' | undefined {
  const path = ticker === undefined ? 'E11_SCHEDULE_TICKER' : 'ticker';
  const value = ticker ?? (env.E11_SCHEDULE_TICKER || undefined);
  if (value === undefined || value === 'external') return value;
  throw new E11Error(ErrorCode.InvalidOptions, `${path}: must be 'external', got '${value}'.`, {
    context: { path },
  });
}
