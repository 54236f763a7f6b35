import { randomUUID } from 'node:crypto';

import { FieldValue, type DocumentSnapshot, type WriteBatch } from '@google-cloud/firestore';
import { z } from 'zod';

import { GrpcStatus, grpcCodeOf } from '../internal/grpc-errors.js';
import { type OrchestrationDoc, orchestrationDocSchema } from '../model/documents.js';
import { parseDocument } from '../model/parse.js';
import type { StatusCounts } from '../model/status.js';

import {
  type Admission,
  admissionSize,
  admittedIndices,
  admitsJobs,
  doneAdmitting,
  leftToAdmit,
  ownFreeSlots,
  takeJobs,
  wroteToken,
} from './admission.js';
import { readCounts } from './counts.js';
import { now, type Store } from './store.js';

/** A concurrency key's document. */
const keyDocSchema = z.object({
  /** Jobs of all its orchestrations launched and not ended, at most. */
  limit: z.number().int().positive(),
  /** Orchestrations with jobs not admitted yet, oldest first. */
  waiting: z.array(z.string()).default([]),
  /** Where the next round of slots starts in `waiting` (round robin). */
  turn: z.number().int().nonnegative().default(0),
  /** The region's executions-in-flight budget its admissions go through (its latest joiner's), if any. */
  inFlightBudget: z.string().nullable().default(null),
  /** Paused (`pauseKey()`): no round gives its slots until `resumeKey()`. */
  paused: z.boolean().default(false),
  admissionToken: z.string().nullable().default(null),
});

/** How often an admission round reads again after another writer changed what it read. */
export const MAX_ROUND_TRIES = 8;

/** Slots one round gives at most: its batch (a slot document per job) stays under Firestore's 500 writes. */
const MAX_SLOTS_PER_ROUND = 400;

/**
 * Makes `orchestrationId` wait for the slots of its concurrency key (and sets the key's limit, and the
 * in-flight budget its admissions go through): called by its kick-off once its jobs are registered.
 */
export async function joinConcurrencyKey(
  store: Store,
  keyId: string,
  orchestrationId: string,
  limit: number,
  inFlightBudget: string | null = null,
): Promise<void> {
  await store.collections.concurrencyKey(keyId).set(
    {
      limit,
      waiting: FieldValue.arrayUnion(orchestrationId),
      inFlightBudget,
      updatedAt: now(store),
    },
    { merge: true },
  );
}

/** Puts an orchestration back in the queue of its concurrency key (its reopened jobs wait for slots). */
export async function rejoinConcurrencyKey(
  store: Store,
  keyId: string,
  orchestrationId: string,
): Promise<void> {
  await store.collections
    .concurrencyKey(keyId)
    .update({ waiting: FieldValue.arrayUnion(orchestrationId), updatedAt: now(store) });
}

/** How many more jobs an orchestration may be admitted now (0: none, undefined: it admits nothing more ever). */
export async function capacityOf(
  store: Store,
  orchestration: OrchestrationDoc,
  nowMs: number,
  counts?: StatusCounts,
): Promise<number | undefined> {
  if (doneAdmitting(orchestration)) return undefined;
  if (!admitsJobs(orchestration, nowMs)) return 0;
  const admitted = orchestration.admitted as number;
  return ownFreeSlots(
    { ...orchestration, admitted },
    async () => counts ?? (await readCounts(store, orchestration.id)),
  );
}

/** One orchestration waiting for a key's slots, as a round read it. */
interface Waiter {
  id: string;
  snapshot: DocumentSnapshot;
  doc: OrchestrationDoc | undefined;
  /** Jobs it may be admitted now; undefined: it admits nothing more ever (it leaves the queue). */
  capacity: number | undefined;
}

/** A concurrency key as one round read it: the key, the slots its jobs hold, and its waiting orchestrations. */
export interface KeyState {
  snapshot: DocumentSnapshot;
  key: z.infer<typeof keyDocSchema>;
  /** Slots held: admitted jobs of its orchestrations that have not ended. */
  taken: number;
  waiters: Waiter[];
}

/** One orchestration's part of a round: its admission, the fields it writes, and the snapshot read. */
export interface PlannedAdmission {
  admission: Admission;
  patch: ReturnType<typeof takeJobs>['patch'];
  snapshot: DocumentSnapshot;
}

/** What a round gives a key's orchestrations, and what the key is left with. */
export interface KeyPlan {
  admissions: PlannedAdmission[];
  /** The orchestrations still waiting after the round. */
  waiting: string[];
  turn: number;
}

/**
 * Reads a concurrency key for a round: undefined when it does not exist. The waiting orchestrations are
 * read only when a slot is free (a plan needs them; no plan is made for a full key).
 */
export async function readKey(store: Store, keyId: string): Promise<KeyState | undefined> {
  const keyRef = store.collections.concurrencyKey(keyId);
  const snapshot = await keyRef.get();
  if (!snapshot.exists) return undefined;
  const key = keyDocSchema.parse(snapshot.data());
  if (key.waiting.length === 0) return { snapshot, key, taken: 0, waiters: [] };
  const taken = (await store.collections.concurrencySlots(keyId).count().get()).data().count;
  // A full or paused key gives nothing this round: its orchestrations are not read (no plan is made).
  if (taken >= key.limit || key.paused) return { snapshot, key, taken, waiters: [] };
  const snapshots = await store.firestore.getAll(
    ...key.waiting.map((id) => store.collections.orchestration(id)),
  );
  const nowMs = store.clock.now();
  // Each orchestration's capacity may read its counts: all at once, not one after another.
  const waiters = await Promise.all(
    snapshots.map(async (snapshot) => {
      const doc = snapshot.exists ? parseDocument(orchestrationDocSchema, snapshot) : undefined;
      const capacity = doc ? await capacityOf(store, doc, nowMs) : undefined;
      return { id: snapshot.id, snapshot, doc, capacity };
    }),
  );
  return { snapshot, key, taken, waiters };
}

/** Slots the key could use now: its free slots, at most what its waiting orchestrations can take (none while paused). */
export function keyCapacity(state: KeyState): number {
  if (state.key.paused) return 0;
  const wanted = state.waiters.reduce((sum, waiter) => sum + (waiter.capacity ?? 0), 0);
  return Math.max(0, Math.min(state.key.limit - state.taken, wanted));
}

/**
 * One round of `free` slots of a key: who gets how many (one slot at a time round robin from where the
 * last round stopped, each within its own `maxParallel`), the orchestrations still waiting, the next turn.
 */
export function planKeyRound(store: Store, state: KeyState, free: number): KeyPlan {
  const { waiters, key } = state;
  const granted = new Map<string, number>();
  let left = free;
  let turn = key.turn % Math.max(1, waiters.length);
  for (let idle = 0; left > 0 && idle < waiters.length; turn = (turn + 1) % waiters.length) {
    const waiter = waiters[turn];
    const given = granted.get(waiter?.id ?? '') ?? 0;
    if (!waiter || waiter.capacity === undefined || given >= waiter.capacity) {
      idle++;
      continue;
    }
    idle = 0;
    granted.set(waiter.id, given + 1);
    left--;
  }
  const admissions: KeyPlan['admissions'] = [];
  const at = now(store);
  for (const waiter of waiters) {
    const count = granted.get(waiter.id) ?? 0;
    if (count === 0 || !waiter.doc || waiter.doc.admitted === null) continue;
    const taken = takeJobs({ ...waiter.doc, admitted: waiter.doc.admitted }, count, at);
    admissions.push({ ...taken, snapshot: waiter.snapshot });
  }
  // An orchestration leaves the key's queue once every job of it is admitted, or it can admit no more.
  const waiting = waiters
    .filter(
      (waiter) =>
        waiter.capacity !== undefined &&
        waiter.doc?.admitted != null &&
        leftToAdmit({ ...waiter.doc, admitted: waiter.doc.admitted }) > (granted.get(waiter.id) ?? 0),
    )
    .map((waiter) => waiter.id);
  // The next round starts with the orchestration after the last one served.
  const next = waiters[turn]?.id;
  return { admissions, waiting, turn: Math.max(0, next === undefined ? 0 : waiting.indexOf(next)) };
}

/** Whether a plan changes nothing (no job admitted, no orchestration left the queue). */
export function isIdle(state: KeyState, plan: KeyPlan): boolean {
  return plan.admissions.length === 0 && plan.waiting.length === state.key.waiting.length;
}

/**
 * Adds an admission to `batch`: the orchestration's cursor (conditioned on its update time, so of
 * concurrent rounds one wins) and one slot document per admitted job under each of `slots` (created: a
 * slot taken twice fails the batch).
 */
export function writeAdmission(
  batch: WriteBatch,
  store: Store,
  { admission, patch, snapshot }: PlannedAdmission,
  slots: { key?: string; inFlightBudget?: string },
): void {
  const at = now(store);
  const { collections } = store;
  const id = admission.orchestration.id;
  batch.update(
    snapshot.ref,
    { ...patch, updatedAt: at },
    { lastUpdateTime: snapshot.updateTime as NonNullable<DocumentSnapshot['updateTime']> },
  );
  for (const index of admittedIndices(admission)) {
    const slot = { orchestrationId: id, index, at };
    if (slots.key !== undefined) batch.create(collections.concurrencySlot(slots.key, id, index), slot);
    if (slots.inFlightBudget !== undefined)
      batch.create(collections.inFlightSlot(slots.inFlightBudget, id, index), slot);
  }
}

/** Adds a key's round to `batch`: the key (its queue and turn, conditioned) and each admission. */
export function writeKeyRound(
  batch: WriteBatch,
  store: Store,
  state: KeyState,
  plan: KeyPlan,
  inFlightBudget: string | undefined,
  token?: string,
): void {
  const keyId = state.snapshot.id;
  batch.update(
    state.snapshot.ref,
    {
      waiting: plan.waiting,
      turn: plan.turn,
      ...(token === undefined ? {} : { admissionToken: token }),
      updatedAt: now(store),
    },
    { lastUpdateTime: state.snapshot.updateTime as NonNullable<DocumentSnapshot['updateTime']> },
  );
  for (const entry of plan.admissions) {
    // A job holds a slot of the budget only if its orchestration says so: its end frees that slot.
    const budget =
      entry.admission.orchestration.inFlightBudget === inFlightBudget ? inFlightBudget : undefined;
    writeAdmission(batch, store, entry, { key: keyId, ...(budget ? { inFlightBudget: budget } : {}) });
  }
}

/**
 * Commits a round's batch: resolves with its admissions, or null when another writer changed what the
 * round read (FAILED_PRECONDITION, or a slot already taken): the caller reads again. A lost answer
 * (the write may have landed) is told by `token` on `tokenRef`.
 */
export async function commitRound(
  batch: WriteBatch,
  tokenRef: DocumentSnapshot['ref'],
  token: string,
  admissions: Admission[],
  tries: number,
): Promise<Admission[] | null> {
  try {
    await batch.commit();
    return admissions;
  } catch (error) {
    const code = grpcCodeOf(error);
    const raced = code === GrpcStatus.FAILED_PRECONDITION || code === GrpcStatus.ALREADY_EXISTS;
    if (!raced && (await wroteToken(tokenRef, token))) return admissions;
    if (!raced || tries >= MAX_ROUND_TRIES) throw error;
    return null;
  }
}

/**
 * Hands out the free slots of concurrency key `keyId` (its limit less the slots its admitted, unended
 * jobs hold) to the orchestrations waiting for it, one slot at a time round robin from where the last
 * round stopped, each within its own `maxParallel`. One batch writes it all: the key (its turn and the
 * orchestrations still waiting, conditioned on its update time), each served orchestration's cursor
 * (conditioned on its update time) and one slot document per admitted job (created: a slot taken
 * twice fails the batch). So of concurrent callers exactly one admits each job; a caller that lost
 * reads again. Slots are freed by the jobs' ends (`transition`), so a slot is never counted free while
 * its job runs. A key under the region's executions-in-flight budget is served by the budget's rounds
 * (`onBudget`), fairly with the other keys and orchestrations there. Returns the admissions, each a
 * range of consecutive jobs of one orchestration.
 */
export async function admitThroughKey(
  store: Store,
  keyId: string,
  onBudget: (budgetId: string) => Promise<Admission[]>,
): Promise<Admission[]> {
  const admitted: Admission[] = [];
  // A round gives at most MAX_SLOTS_PER_ROUND slots: a key with more free runs another round.
  for (;;) {
    const round = await admitRound(store, keyId);
    if ('inFlightBudget' in round) return onBudget(round.inFlightBudget);
    admitted.push(...round);
    if (round.reduce((sum, admission) => sum + admissionSize(admission), 0) < MAX_SLOTS_PER_ROUND)
      return admitted;
  }
}

/** One round of {@link admitThroughKey}. */
async function admitRound(store: Store, keyId: string): Promise<Admission[] | { inFlightBudget: string }> {
  for (let tries = 1; ; tries++) {
    const state = await readKey(store, keyId);
    if (!state || state.key.waiting.length === 0) return [];
    if (state.key.inFlightBudget !== null) return { inFlightBudget: state.key.inFlightBudget };
    if (state.key.paused) return [];
    const free = Math.min(state.key.limit - state.taken, MAX_SLOTS_PER_ROUND);
    if (free <= 0) return [];
    const plan = planKeyRound(store, state, free);
    if (isIdle(state, plan)) return [];
    const token = randomUUID();
    const batch = store.firestore.batch();
    writeKeyRound(batch, store, state, plan, undefined, token);
    const admissions = plan.admissions.map(({ admission }) => admission);
    const done = await commitRound(batch, state.snapshot.ref, token, admissions, tries);
    if (done) return done;
  }
}
