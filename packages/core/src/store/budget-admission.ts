import { randomUUID } from 'node:crypto';

import { FieldValue, type DocumentSnapshot, type WriteBatch } from '@google-cloud/firestore';
import { z } from 'zod';

import { type OrchestrationDoc, orchestrationDocSchema } from '../model/documents.js';
import { parseDocument } from '../model/parse.js';

import { type Admission, admissionSize, leftToAdmit, takeJobs } from './admission.js';
import {
  capacityOf,
  commitRound,
  isIdle,
  keyCapacity,
  type KeyState,
  planKeyRound,
  readKey,
  writeAdmission,
  writeKeyRound,
} from './key-admission.js';
import { now, type Store } from './store.js';

/** The region's executions-in-flight budget document. */
const budgetDocSchema = z.object({
  /** Jobs launched and not ended in the region, at most (its latest joiner's `maxExecutionsInFlight`). */
  limit: z.number().int().positive(),
  /** Groups with jobs not admitted yet: concurrency key ids, and `o:{tenant}:{orchestrationId}`. */
  waiting: z.array(z.string()).default([]),
  /** Where ties between groups start (round robin). */
  turn: z.number().int().nonnegative().default(0),
  admissionToken: z.string().nullable().default(null),
});

/** Slots one round gives at most: a keyed job writes two slot documents, so the batch stays small. */
const MAX_SLOTS_PER_ROUND = 200;

/** The budget group of an orchestration without a concurrency key. */
export function orchestrationGroup(tenant: string | null, orchestrationId: string): string {
  return `o:${tenant ?? ''}:${orchestrationId}`;
}

/** The tenant of a group (`concurrency:{tenant}:{key}` or `o:{tenant}:{id}`; '' for none). */
function groupTenant(group: string): string {
  return group.split(':')[1] ?? '';
}

/**
 * Makes `group` (a concurrency key id, or {@link orchestrationGroup}) wait for the slots of the
 * region's executions-in-flight budget, and sets the budget's limit: called by a kick-off once its
 * jobs are registered.
 */
export async function joinInFlightBudget(
  store: Store,
  budgetId: string,
  group: string,
  limit: number,
): Promise<void> {
  await store.collections
    .inFlightBudget(budgetId)
    .set({ limit, waiting: FieldValue.arrayUnion(group), updatedAt: now(store) }, { merge: true });
}

/** Puts a group back in the budget's queue (an orchestration's reopened jobs wait for slots). */
export async function rejoinInFlightBudget(store: Store, budgetId: string, group: string): Promise<void> {
  await store.collections
    .inFlightBudget(budgetId)
    .update({ waiting: FieldValue.arrayUnion(group), updatedAt: now(store) });
}

/** One group waiting for the budget, as a round read it. */
type Group =
  | { id: string; kind: 'key'; state: KeyState | undefined; held: number; capacity: number | undefined }
  | {
      id: string;
      kind: 'orchestration';
      snapshot: DocumentSnapshot;
      doc: OrchestrationDoc | undefined;
      held: number;
      capacity: number | undefined;
    };

/**
 * Shares `free` slots between groups, fairest first: each slot goes to the group that holds the fewest
 * (slots held plus given this round) among those that can take one more, ties broken round robin from
 * `turn`. So a group that waited while others held the slots gets the next ones until the shares are
 * even (max-min fairness), and none starves. Returns the slots given per group and the next turn. Pure.
 */
export function shareSlots(
  groups: readonly { held: number; capacity: number }[],
  free: number,
  turn: number,
): { granted: number[]; turn: number } {
  const granted = groups.map(() => 0);
  const n = groups.length;
  let next = n === 0 ? 0 : turn % n;
  for (let left = free; left > 0; left--) {
    let best = -1;
    for (let step = 0; step < n; step++) {
      const i = (next + step) % n;
      const group = groups[i] as { held: number; capacity: number };
      if ((granted[i] as number) >= group.capacity) continue;
      if (best === -1) best = i;
      else {
        const b = groups[best] as { held: number };
        if (group.held + (granted[i] as number) < b.held + (granted[best] as number)) best = i;
      }
    }
    if (best === -1) break;
    granted[best] = (granted[best] as number) + 1;
    next = (best + 1) % n;
  }
  return { granted, turn: next };
}

/** Reads one group for a round. */
async function readGroup(store: Store, budgetId: string, id: string, nowMs: number): Promise<Group> {
  if (!id.startsWith('o:')) {
    const state = await readKey(store, id);
    const finished = !state || state.key.waiting.length === 0;
    return {
      id,
      kind: 'key',
      state,
      held: state?.taken ?? 0,
      capacity: finished ? undefined : keyCapacity(state),
    };
  }
  const orchestrationId = id.split(':').slice(2).join(':');
  const snapshot = await store.collections.orchestration(orchestrationId).get();
  const doc = snapshot.exists ? parseDocument(orchestrationDocSchema, snapshot) : undefined;
  if (!doc) return { id, kind: 'orchestration', snapshot, doc, held: 0, capacity: undefined };
  // Its slots in the budget (one aggregation), not its counts (a read per counter shard).
  const [held, capacity] = await Promise.all([
    store.collections
      .inFlightSlots(budgetId)
      .where('orchestrationId', '==', doc.id)
      .count()
      .get()
      .then((count) => count.data().count),
    capacityOf(store, doc, nowMs),
  ]);
  return { id, kind: 'orchestration', snapshot, doc, held, capacity };
}

/**
 * Hands out the free slots of the region's executions-in-flight budget `budgetId` (its limit less the
 * slots its admitted, unended jobs hold) to the groups waiting for it — concurrency keys (each then
 * round robin between its orchestrations, within its own limit) and orchestrations without a key —
 * fairest first ({@link shareSlots}). One batch writes the round: the budget (its queue and turn,
 * conditioned on its update time), each served key as its own round would, each served orchestration's
 * cursor, and a slot per admitted job in the budget (and in its key). Of concurrent callers exactly one
 * admits each job; a caller that lost reads again. A tenant-scoped store serves its own tenant's groups
 * only (the completion function serves every tenant). Returns the admissions.
 */
export async function admitThroughBudget(store: Store, budgetId: string): Promise<Admission[]> {
  const admitted: Admission[] = [];
  for (;;) {
    const round = await budgetRound(store, budgetId);
    admitted.push(...round);
    if (round.reduce((sum, admission) => sum + admissionSize(admission), 0) < MAX_SLOTS_PER_ROUND)
      return admitted;
  }
}

/** One round of {@link admitThroughBudget}. */
async function budgetRound(store: Store, budgetId: string): Promise<Admission[]> {
  const ref = store.collections.inFlightBudget(budgetId);
  for (let tries = 1; ; tries++) {
    const snapshot = await ref.get();
    if (!snapshot.exists) return [];
    const budget = budgetDocSchema.parse(snapshot.data());
    const mine = budget.waiting.filter(
      (group) => store.tenant === null || groupTenant(group) === store.tenant,
    );
    if (mine.length === 0) return [];
    const taken = (await store.collections.inFlightSlots(budgetId).count().get()).data().count;
    const free = Math.min(budget.limit - taken, MAX_SLOTS_PER_ROUND);
    if (free <= 0) return [];
    const nowMs = store.clock.now();
    const groups = await Promise.all(mine.map((id) => readGroup(store, budgetId, id, nowMs)));
    const shared = shareSlots(
      groups.map((group) => ({ held: group.held, capacity: group.capacity ?? 0 })),
      free,
      budget.turn,
    );
    const batch = store.firestore.batch();
    const admissions: Admission[] = [];
    const finished = new Set<string>();
    groups.forEach((group, i) => {
      const count = shared.granted[i] ?? 0;
      if (group.capacity === undefined) finished.add(group.id);
      if (count > 0) admissions.push(...writeGroup(batch, store, budgetId, group, count, finished));
    });
    if (admissions.length === 0 && finished.size === 0) return [];
    const token = randomUUID();
    batch.update(
      ref,
      {
        waiting: budget.waiting.filter((group) => !finished.has(group)),
        // A tenant's round saw its own groups only: the turn (an index into all of them) stays.
        turn: store.tenant === null ? shared.turn : budget.turn,
        admissionToken: token,
        updatedAt: now(store),
      },
      { lastUpdateTime: snapshot.updateTime as NonNullable<DocumentSnapshot['updateTime']> },
    );
    const done = await commitRound(batch, ref, token, admissions, tries);
    if (done) return done;
  }
}

/** Adds `count` slots' admissions of one group to `batch`; marks the group finished if it admits no more. */
function writeGroup(
  batch: WriteBatch,
  store: Store,
  budgetId: string,
  group: Group,
  count: number,
  finished: Set<string>,
): Admission[] {
  if (group.kind === 'key') {
    const state = group.state as KeyState;
    const plan = planKeyRound(store, state, count);
    if (isIdle(state, plan)) return [];
    writeKeyRound(batch, store, state, plan, budgetId);
    if (plan.waiting.length === 0) finished.add(group.id);
    return plan.admissions.map(({ admission }) => admission);
  }
  const doc = group.doc as OrchestrationDoc & { admitted: number };
  const entry = { ...takeJobs(doc, count, now(store)), snapshot: group.snapshot };
  writeAdmission(batch, store, entry, doc.inFlightBudget === budgetId ? { inFlightBudget: budgetId } : {});
  if (leftToAdmit(doc) <= count) finished.add(group.id);
  return [entry.admission];
}
