import { Timestamp } from '@google-cloud/firestore';
import { parseDocument } from '../model/parse.js';
import { now, type Store } from '../store/store.js';

import {
  type Launching,
  type RunTrigger,
  type ScheduleRunDoc,
  scheduleRunDocSchema,
} from './schedule-documents.js';
import { scheduleRef as scheduleDoc, scheduleRunsRef } from './schedule-id.js';
import { readSchedule, scheduleUpdateFor } from './schedule-store.js';

/** The run a tick wants to record. */
export interface RunClaimRequest {
  id: string;
  trigger: RunTrigger;
  firedAt: Date;
  idempotencyKey: string;
}

/** The outcome of {@link claimScheduleRun}. */
export type RunClaim =
  /** The caller holds the run and decides it (`takeover` when a dead or failed tick held it before). */
  | { outcome: 'claimed'; run: ScheduleRunDoc; takeover: boolean }
  /** Another tick recorded (or is recording) this run: do nothing. */
  | { outcome: 'duplicate'; run: ScheduleRunDoc }
  /** Another run of the schedule is being launched under an exclusive policy: recorded `skipped`. */
  | { outcome: 'skipped'; run: ScheduleRunDoc };

/** How a run is claimed. */
export interface ClaimOptions {
  /** A claim (or launching marker) older than this belongs to a tick that died. */
  leaseMs: number;
  /**
   * The run must not launch beside another run of the schedule (overlap `skip` or `cancel-previous`,
   * not forced): it is recorded `skipped` when another run is being launched, and otherwise marks
   * itself as the one being launched until it ends.
   */
  exclusive: boolean;
}

/** The id of the run of a cron fire: its fire time, so every tick for that fire finds the same document. */
export function cronRunId(fireTime: Date): string {
  return fireTime.toISOString();
}

/** The id of a manual run. */
export function manualRunId(at: Date): string {
  return `manual-${at.toISOString()}`;
}

/**
 * Claims the run `{prefix}schedules/{scheduleDocId}/runs/{id}` (the store's tenant's schedule `name`) in one transaction with its schedule: creates it
 * `pending` if it does not exist, takes it over if it is still `pending` under a claim older than
 * `leaseMs` (its tick died or gave it back), and otherwise reports a duplicate — exactly one of any
 * number of concurrent ticks for one fire gets it. An exclusive claim also looks at the schedule's
 * `launching` marker: while another run holds it (within the lease) this run is recorded `skipped` at
 * once; otherwise this run takes the marker, so two runs never launch side by side.
 */
export async function claimScheduleRun(
  store: Store,
  name: string,
  request: RunClaimRequest,
  options: ClaimOptions,
): Promise<RunClaim> {
  const runRef = scheduleRunsRef(store, name).doc(request.id);
  const scheduleRef = scheduleDoc(store, name);
  return store.firestore.runTransaction(async (tx) => {
    const [runSnapshot, scheduleSnapshot] = await tx.getAll(runRef, scheduleRef);
    if (!runSnapshot || !scheduleSnapshot) throw new Error('getAll returned fewer snapshots than asked');
    const at = now(store);
    const live = (claimedAt: Timestamp) => at.toMillis() - claimedAt.toMillis() < options.leaseMs;

    let run: ScheduleRunDoc;
    let takeover = false;
    if (runSnapshot.exists) {
      const existing = parseDocument(scheduleRunDocSchema, runSnapshot);
      if (existing.outcome !== 'pending' || live(existing.claimedAt)) {
        return { outcome: 'duplicate', run: existing };
      }
      run = { ...existing, claimedAt: at, claims: existing.claims + 1 };
      takeover = true;
    } else {
      run = {
        v: 1,
        id: request.id,
        schedule: name,
        trigger: request.trigger,
        firedAt: Timestamp.fromDate(request.firedAt),
        idempotencyKey: request.idempotencyKey,
        outcome: 'pending',
        orchestrationId: null,
        reason: null,
        claimedAt: at,
        claims: 1,
        finishedAt: null,
      };
    }

    const schedule = readSchedule(store, scheduleSnapshot);
    const marker = schedule?.launching ?? null;
    if (options.exclusive && schedule && marker && marker.runId !== run.id && live(marker.claimedAt)) {
      const reason = `run ${marker.runId} of this schedule is still being launched`;
      const skipped: ScheduleRunDoc = { ...run, outcome: 'skipped', reason, finishedAt: at };
      tx.set(runRef, skipped);
      tx.update(
        scheduleRef,
        scheduleUpdateFor(store, schedule, {
          runId: run.id,
          trigger: run.trigger,
          firedAt: run.firedAt,
          outcome: 'skipped',
          orchestrationId: null,
          reason,
        }),
      );
      return { outcome: 'skipped', run: skipped };
    }

    if (takeover) tx.update(runRef, { claimedAt: run.claimedAt, claims: run.claims });
    else tx.create(runRef, run);
    if (options.exclusive && schedule) {
      const launching: Launching = { runId: run.id, claimedAt: at };
      tx.update(scheduleRef, { launching });
    }
    return { outcome: 'claimed', run, takeover };
  });
}

/** How a claimed run ended. */
export interface RunResult {
  outcome: 'launched' | 'skipped' | 'failed';
  orchestrationId: string | null;
  reason: string | null;
}

/**
 * Records a claimed run's end and applies it to its schedule (latest run, last launched orchestration,
 * fire times) in one transaction. A run that is no longer pending (a slower twin finished it) is left
 * as it is and returned.
 */
export async function finishScheduleRun(
  store: Store,
  name: string,
  runId: string,
  result: RunResult,
): Promise<ScheduleRunDoc> {
  const runRef = scheduleRunsRef(store, name).doc(runId);
  const scheduleRef = scheduleDoc(store, name);
  return store.firestore.runTransaction(async (tx) => {
    const [runSnapshot, scheduleSnapshot] = await tx.getAll(runRef, scheduleRef);
    if (!runSnapshot || !scheduleSnapshot) throw new Error('getAll returned fewer snapshots than asked');
    const run = parseDocument(scheduleRunDocSchema, runSnapshot);
    if (run.outcome !== 'pending') return run;
    const finished: ScheduleRunDoc = { ...run, ...result, finishedAt: now(store) };
    tx.update(runRef, { ...result, finishedAt: finished.finishedAt });
    const schedule = readSchedule(store, scheduleSnapshot);
    if (schedule) {
      const update = scheduleUpdateFor(store, schedule, {
        runId,
        trigger: run.trigger,
        firedAt: run.firedAt,
        ...result,
      });
      if (schedule.launching?.runId === runId) update.launching = null;
      tx.update(scheduleRef, update);
    }
    return finished;
  });
}

/**
 * Gives a claimed run back (its tick hit a transient error): the next tick for the same fire takes it
 * over at once, and the run no longer holds the schedule's `launching` marker, so a tick for a later
 * fire is not held up by it (whatever it did launch is found by the overlap check).
 */
export async function releaseScheduleRun(store: Store, name: string, runId: string): Promise<void> {
  const runRef = scheduleRunsRef(store, name).doc(runId);
  const scheduleRef = scheduleDoc(store, name);
  await store.firestore.runTransaction(async (tx) => {
    const [runSnapshot, scheduleSnapshot] = await tx.getAll(runRef, scheduleRef);
    if (!runSnapshot?.exists) return;
    const run = parseDocument(scheduleRunDocSchema, runSnapshot);
    if (run.outcome !== 'pending') return;
    tx.update(runRef, { claimedAt: Timestamp.fromMillis(0) });
    const schedule = scheduleSnapshot ? readSchedule(store, scheduleSnapshot) : undefined;
    if (schedule?.launching?.runId === runId) tx.update(scheduleRef, { launching: null });
  });
}

/** The runs of a schedule, newest fire first. */
export async function listScheduleRuns(store: Store, name: string, limit: number): Promise<ScheduleRunDoc[]> {
  const snapshot = await scheduleRunsRef(store, name).orderBy('firedAt', 'desc').limit(limit).get();
  return snapshot.docs.map((doc) => parseDocument(scheduleRunDocSchema, doc));
}
