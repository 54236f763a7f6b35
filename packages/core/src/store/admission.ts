import { randomUUID } from 'node:crypto';

import type { DocumentReference } from '@google-cloud/firestore';

import { GrpcStatus, grpcCodeOf } from '../internal/grpc-errors.js';
import { type OrchestrationDoc, orchestrationDocSchema } from '../model/documents.js';
import { parseDocument } from '../model/parse.js';
import { isTerminal, type StatusCounts, terminalCount } from '../model/status.js';
import { isDocumentId } from '../validate/document-id.js';

import { readCounts } from './counts.js';
import { now, type Store } from './store.js';

/**
 * Whether the write that carried `token` (as `admissionToken`) landed although its answer was lost:
 * the emulator answers UNKNOWN to a commit it applied when a closed listener is in its way, and a
 * network cut loses answers too.
 */
export async function wroteToken(ref: DocumentReference, token: string): Promise<boolean> {
  return (await ref.get()).get('admissionToken') === token;
}

/**
 * Jobs of `orchestration` just admitted: the caller launches them. `readmitted` are jobs `retryFailed`
 * reopened (taken first), then jobs `first` to `first + count - 1` past the cursor.
 */
export interface Admission {
  orchestration: OrchestrationDoc;
  readmitted: number[];
  first: number;
  count: number;
}

/** How many jobs an admission covers. */
export function admissionSize(admission: Admission): number {
  return admission.readmitted.length + admission.count;
}

/** The job indices an admission covers: the re-admitted ones, then the cursor's range. */
export function admittedIndices(admission: Admission): number[] {
  return [
    ...admission.readmitted,
    ...Array.from({ length: admission.count }, (_, offset) => admission.first + offset),
  ];
}

/** Jobs `orchestration` has still to admit: those `retryFailed` reopened, and those past the cursor. */
export function leftToAdmit(orchestration: OrchestrationDoc & { admitted: number }): number {
  return orchestration.readmit.length + orchestration.total - orchestration.admitted;
}

/**
 * Takes `n` (at most {@link leftToAdmit}) jobs of an admitting orchestration: reopened ones first, then
 * the next past the cursor. Returns the admission (its orchestration as it will be stored) and the
 * fields the admission writes.
 */
export function takeJobs(
  orchestration: OrchestrationDoc & { admitted: number },
  n: number,
  at: OrchestrationDoc['admittedAt'],
): { admission: Admission; patch: { admitted: number; readmit: number[]; admittedAt: typeof at } } {
  const readmitted = orchestration.readmit.slice(0, n);
  const count = Math.min(n - readmitted.length, orchestration.total - orchestration.admitted);
  const patch = {
    admitted: orchestration.admitted + count,
    readmit: orchestration.readmit.slice(readmitted.length),
    admittedAt: at,
  };
  return {
    admission: {
      orchestration: { ...orchestration, ...patch },
      readmitted,
      first: orchestration.admitted,
      count,
    },
    patch,
  };
}

/** How often an admission reads again after another writer changed the orchestration in between. */
const MAX_ADMISSION_TRIES = 8;

/**
 * Whether the orchestration will never admit another job: it has no cursor (no `maxParallel`, no
 * concurrency key), every job is admitted, or it ended or is being cancelled.
 */
export function doneAdmitting(orchestration: OrchestrationDoc): boolean {
  return (
    orchestration.admitted === null ||
    (orchestration.admitted >= orchestration.total && orchestration.readmit.length === 0) ||
    isTerminal(orchestration.status) ||
    orchestration.cancelRequested
  );
}

/**
 * Whether the orchestration may admit jobs now: it is not {@link doneAdmitting}, is registered, not
 * paused, and its start (if any) has come.
 */
export function admitsJobs(orchestration: OrchestrationDoc, nowMs: number): boolean {
  return (
    !doneAdmitting(orchestration) &&
    orchestration.registered &&
    !orchestration.paused &&
    (orchestration.startAt?.toMillis() ?? 0) <= nowMs
  );
}

/**
 * Jobs an admitting orchestration may admit now within its own `maxParallel` (all it has left without
 * one): the slots not held by a job below its cursor that has not ended (by `counts`), less the
 * reopened jobs still waiting for one (not ended, but not holding a slot).
 */
export async function ownFreeSlots(
  orchestration: OrchestrationDoc & { admitted: number },
  counts: () => Promise<StatusCounts>,
): Promise<number> {
  const { admitted, maxParallel, readmit } = orchestration;
  const left = leftToAdmit(orchestration);
  if (maxParallel === null) return left;
  const live = await counts();
  const held = admitted - terminalCount(live) - readmit.length;
  return Math.max(0, Math.min(left, maxParallel - held));
}

/**
 * Takes the free slots of a `maxParallel` orchestration: slots taken are the jobs below the cursor
 * (`admitted`) that have not ended and are not reopened ones waiting (`readmit`), so the rest of
 * `maxParallel` are free: the reopened jobs take them first, then the cursor moves forward (never past
 * the last job). The move is written under a precondition on
 * the orchestration's update time, so of any number of concurrent callers (duplicated triggers,
 * sweepers) exactly one admits each job; a caller that lost the race reads again. `counts` may be
 * counts the caller read just before (the completion check's): counts read earlier hold fewer ended
 * jobs, so they can only leave a slot free for later, never admit one too many. Resolves null when
 * nothing was admitted.
 */
export async function admitWaitingJobs(
  store: Store,
  orchestrationId: string,
  counts?: StatusCounts,
): Promise<Admission | { concurrencyKey: string } | { inFlightBudget: string } | null> {
  if (!isDocumentId(orchestrationId)) return null;
  const ref = store.collections.orchestration(orchestrationId);
  let live = counts;
  for (let tries = 1; ; tries++) {
    const snapshot = await ref.get();
    if (!snapshot.exists) return null;
    const orchestration = parseDocument(orchestrationDocSchema, snapshot);
    if (orchestration.tenant !== store.tenant && store.tenant !== null) return null;
    // Its jobs take the slots of the region's in-flight budget: the budget admits them, fairly with the
    // other keys and orchestrations waiting there. Asked even when this one admits no more: the job that
    // just ended freed a slot another may take.
    if (orchestration.inFlightBudget !== null) return { inFlightBudget: orchestration.inFlightBudget };
    if (!admitsJobs(orchestration, store.clock.now())) return null;
    // Its jobs take the slots of a concurrency key: the key admits them, with the others sharing it.
    if (orchestration.concurrencyKey !== null) return { concurrencyKey: orchestration.concurrencyKey };
    const admitted = orchestration.admitted as number;
    const free = await ownFreeSlots(
      { ...orchestration, admitted },
      async () => (live ??= await readCounts(store, orchestrationId)),
    );
    if (free <= 0) return null;
    const at = now(store);
    // The token tells this caller's write from another's when the answer is lost (the write may have
    // landed: the emulator answers UNKNOWN to a commit it applied when a closed listener is in its way).
    const token = randomUUID();
    const { admission, patch } = takeJobs({ ...orchestration, admitted }, free, at);
    try {
      await ref.update(
        { ...patch, admissionToken: token, updatedAt: at },
        { lastUpdateTime: snapshot.updateTime },
      );
      return admission;
    } catch (error) {
      const raced = grpcCodeOf(error) === GrpcStatus.FAILED_PRECONDITION;
      if (!raced && (await wroteToken(ref, token))) return admission;
      if (!raced || tries >= MAX_ADMISSION_TRIES) throw error;
    }
  }
}

/** Jobs at most that wait in an orchestration's `readmit` list (the document stays small). */
export const MAX_READMIT = 10_000;

/**
 * Puts jobs `retryFailed` reopened below the cursor of an admitting orchestration back in line for a
 * slot (`readmit`, ascending, no duplicates), in one transaction: admissions then take them before
 * moving the cursor, so a retry never launches more than the limits allow.
 */
export async function readmitJobs(
  store: Store,
  orchestrationId: string,
  indices: readonly number[],
): Promise<void> {
  const ref = store.collections.orchestration(orchestrationId);
  await store.firestore.runTransaction(async (tx) => {
    const orchestration = parseDocument(orchestrationDocSchema, await tx.get(ref));
    // A reopened job past the cursor (cancelled before it was admitted) waits for the cursor itself.
    const admitted = orchestration.admitted ?? orchestration.total;
    const below = indices.filter((index) => index < admitted);
    const readmit = [...new Set([...orchestration.readmit, ...below])].sort((a, b) => a - b);
    tx.update(ref, { readmit, updatedAt: now(store) });
  });
}
