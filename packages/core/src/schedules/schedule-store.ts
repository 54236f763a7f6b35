import { type DocumentSnapshot, type Query, Timestamp } from '@google-cloud/firestore';
import { E11Error, ErrorCode } from '../errors.js';
import { parseDocument } from '../model/parse.js';
import { now, type Store } from '../store/store.js';

import { CronSchedule } from './cron.js';
import type { CompiledSchedule } from './schedule-definition.js';
import { type ScheduleDoc, scheduleDocSchema } from './schedule-documents.js';
import { scheduleRef } from './schedule-id.js';

/**
 * One state change of a schedule document per function; the run documents are in `run-store.ts`.
 * Every function acts on the store's tenant's schedule of a name (see `scheduleDocId`): another tenant's
 * schedule of the same name is another document, never read or written here.
 */

/** Parses a schedule snapshot; undefined when it does not exist or belongs to another tenant. */
export function readSchedule(store: Store, snapshot: DocumentSnapshot): ScheduleDoc | undefined {
  if (!snapshot.exists) return undefined;
  const doc = parseDocument(scheduleDocSchema, snapshot) as ScheduleDoc;
  return store.tenant === null || doc.tenant === store.tenant ? doc : undefined;
}

function unknownSchedule(name: string): E11Error {
  return new E11Error(ErrorCode.UnknownSchedule, `Schedule '${name}' does not exist.`, {
    context: { schedule: name },
  });
}

/** The schedule, or undefined. */
export async function findSchedule(store: Store, name: string): Promise<ScheduleDoc | undefined> {
  return readSchedule(store, await scheduleRef(store, name).get());
}

/** The schedule; `E11_UNKNOWN_SCHEDULE` when there is none. */
export async function loadSchedule(store: Store, name: string): Promise<ScheduleDoc> {
  const doc = await findSchedule(store, name);
  if (!doc) throw unknownSchedule(name);
  return doc;
}

/**
 * Every schedule the store may see, by name (an unscoped store sees every tenant's; two tenants' schedules
 * of one name follow each other, untenanted first); only enabled ones with `enabledOnly`.
 */
export async function listScheduleDocs(
  store: Store,
  options: { enabledOnly?: boolean } = {},
): Promise<ScheduleDoc[]> {
  // Equality filters only, sorted here: no composite index to deploy (schedules are few).
  let query: Query = store.collections.schedules();
  if (options.enabledOnly) query = query.where('enabled', '==', true);
  if (store.tenant !== null) query = query.where('tenant', '==', store.tenant);
  const snapshot = await query.get();
  return snapshot.docs
    .flatMap((doc) => readSchedule(store, doc) ?? [])
    .sort((a, b) => compare(a.name, b.name) || compare(a.tenant ?? '', b.tenant ?? ''));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The next fire time after `afterMs`, as stored (null while paused). */
function nextFire(schedule: CronSchedule, enabled: boolean, afterMs: number): Timestamp | null {
  if (!enabled) return null;
  const next = schedule.nextAfter(afterMs);
  return next === null ? null : Timestamp.fromDate(next);
}

/**
 * Creates or replaces a schedule's definition, keeping its history (createdAt, lastFireAt, lastRun).
 * `notBefore` moves to now on creation, when the cron or time zone changes, and when a paused schedule
 * is enabled, so no fire time from before that moment runs.
 */
export async function saveSchedule(
  store: Store,
  compiled: CompiledSchedule,
  extra: { cloudSchedulerJob: string | null },
): Promise<{ doc: ScheduleDoc; created: boolean }> {
  const ref = scheduleRef(store, compiled.name);
  return store.firestore.runTransaction(async (tx) => {
    const snapshot = await tx.get(ref);
    // Unreachable through the SDK (the id encodes the tenant); a crafted document is never overwritten.
    if (snapshot.exists && !readSchedule(store, snapshot))
      throw new Error('schedule document of another tenant');
    const existing = readSchedule(store, snapshot);
    const at = now(store);
    const restart =
      !existing ||
      existing.cron !== compiled.cron ||
      existing.timeZone !== compiled.timeZone ||
      (!existing.enabled && compiled.enabled);
    const doc: ScheduleDoc = {
      v: 1,
      name: compiled.name,
      tenant: store.tenant,
      cron: compiled.cron,
      timeZone: compiled.timeZone,
      jobName: compiled.jobName,
      params: compiled.params,
      paramsFactory: compiled.paramsFactory,
      overlap: compiled.overlap,
      enabled: compiled.enabled,
      kickOff: compiled.kickOff,
      cloudSchedulerJob: extra.cloudSchedulerJob,
      createdAt: existing?.createdAt ?? at,
      updatedAt: at,
      notBefore: restart ? at : existing.notBefore,
      lastFireAt: existing?.lastFireAt ?? null,
      nextFireAt: nextFire(compiled.schedule, compiled.enabled, at.toMillis()),
      lastRun: existing?.lastRun ?? null,
      lastOrchestrationId: existing?.lastOrchestrationId ?? null,
      launching: existing?.launching ?? null,
    };
    tx.set(ref, doc);
    return { doc, created: !existing };
  });
}

/** Pauses or resumes a schedule; resuming moves `notBefore` to now (times missed while paused never run). */
export async function setScheduleEnabled(store: Store, name: string, enabled: boolean): Promise<ScheduleDoc> {
  const ref = scheduleRef(store, name);
  return store.firestore.runTransaction(async (tx) => {
    const existing = readSchedule(store, await tx.get(ref));
    if (!existing) throw unknownSchedule(name);
    if (existing.enabled === enabled) return existing;
    const at = now(store);
    const schedule = new CronSchedule(existing.cron, existing.timeZone);
    const update = {
      enabled,
      updatedAt: at,
      notBefore: enabled ? at : existing.notBefore,
      nextFireAt: nextFire(schedule, enabled, at.toMillis()),
    };
    tx.update(ref, update);
    return { ...existing, ...update };
  });
}

/** Deletes a schedule and its run history; `E11_UNKNOWN_SCHEDULE` when there is none. */
export async function deleteSchedule(store: Store, name: string): Promise<void> {
  await loadSchedule(store, name);
  await store.firestore.recursiveDelete(scheduleRef(store, name));
}

/** Records the end of a run on its schedule: the latest run, the last launched orchestration, fire times. */
export interface ScheduleRunSummary {
  runId: string;
  trigger: 'cron' | 'manual';
  firedAt: Timestamp;
  outcome: 'launched' | 'skipped' | 'failed';
  orchestrationId: string | null;
  reason: string | null;
}

/**
 * The fields a finished run changes on its schedule document: `lastRun` and `lastOrchestrationId` only
 * move to a newer run, `lastFireAt` only forward (and only for cron fires), `nextFireAt` after it.
 */
export function scheduleUpdateFor(
  store: Store,
  schedule: ScheduleDoc,
  run: ScheduleRunSummary,
): Partial<ScheduleDoc> {
  const at = now(store);
  const update: Partial<ScheduleDoc> = { updatedAt: at };
  if (!schedule.lastRun || schedule.lastRun.firedAt.toMillis() <= run.firedAt.toMillis()) {
    update.lastRun = { ...run };
    if (run.outcome === 'launched') update.lastOrchestrationId = run.orchestrationId;
  }
  if (run.trigger === 'cron') {
    const lastFireAt =
      schedule.lastFireAt && schedule.lastFireAt.toMillis() > run.firedAt.toMillis()
        ? schedule.lastFireAt
        : run.firedAt;
    update.lastFireAt = lastFireAt;
    const cron = new CronSchedule(schedule.cron, schedule.timeZone);
    update.nextFireAt = nextFire(cron, schedule.enabled, Math.max(at.toMillis(), lastFireAt.toMillis()));
  }
  return update;
}
