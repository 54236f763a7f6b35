import { randomUUID } from 'node:crypto';

import { FieldValue, type DocumentSnapshot } from '@google-cloud/firestore';
import { z } from 'zod';

import { GrpcStatus, grpcCodeOf } from '../internal/grpc-errors.js';
import { type OrchestrationDoc, orchestrationDocSchema } from '../model/documents.js';
import { parseDocument } from '../model/parse.js';

import { type Admission, admitsJobs, doneAdmitting, ownFreeSlots, wroteToken } from './admission.js';
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
  admissionToken: z.string().nullable().default(null),
});

/** How often a key admission reads again after another writer changed what it read. */
const MAX_KEY_TRIES = 8;

/** Slots one round gives at most: its batch (a slot document per job) stays under Firestore's 500 writes. */
const MAX_SLOTS_PER_ROUND = 400;

/**
 * Makes `orchestrationId` wait for the slots of its concurrency key (and sets the key's limit): called
 * by its kick-off once its jobs are registered.
 */
export async function joinConcurrencyKey(
  store: Store,
  keyId: string,
  orchestrationId: string,
  limit: number,
): Promise<void> {
  await store.collections
    .concurrencyKey(keyId)
    .set({ limit, waiting: FieldValue.arrayUnion(orchestrationId), updatedAt: now(store) }, { merge: true });
}

/** How many more jobs an orchestration may be admitted now (0: none, undefined: it admits nothing more ever). */
async function capacityOf(
  store: Store,
  orchestration: OrchestrationDoc,
  nowMs: number,
): Promise<number | undefined> {
  if (doneAdmitting(orchestration)) return undefined;
  if (!admitsJobs(orchestration, nowMs)) return 0;
  const admitted = orchestration.admitted as number;
  return ownFreeSlots({ ...orchestration, admitted }, () => readCounts(store, orchestration.id));
}

/**
 * Hands out the free slots of concurrency key `keyId` (its limit less the slots its admitted, unended
 * jobs hold) to the orchestrations waiting for it, one slot at a time round robin from where the last
 * round stopped, each within its own `maxParallel`. One batch writes it all: the key (its turn and the
 * orchestrations still waiting, conditioned on its update time), each served orchestration's cursor
 * (conditioned on its update time) and one slot document per admitted job (created: a slot taken
 * twice fails the batch). So of concurrent callers exactly one admits each job; a caller that lost
 * reads again. Slots are freed by the jobs' ends (`transition`), so a slot is never counted free while
 * its job runs. Returns the admissions, each a range of consecutive jobs of one orchestration.
 */
export async function admitThroughKey(store: Store, keyId: string): Promise<Admission[]> {
  const admitted: Admission[] = [];
  // A round gives at most MAX_SLOTS_PER_ROUND slots: a key with more free runs another round.
  for (;;) {
    const round = await admitRound(store, keyId);
    admitted.push(...round);
    if (round.reduce((sum, admission) => sum + admission.count, 0) < MAX_SLOTS_PER_ROUND) return admitted;
  }
}

/** One round of {@link admitThroughKey}. */
async function admitRound(store: Store, keyId: string): Promise<Admission[]> {
  const keyRef = store.collections.concurrencyKey(keyId);
  for (let tries = 1; ; tries++) {
    const keySnapshot = await keyRef.get();
    if (!keySnapshot.exists) return [];
    const key = keyDocSchema.parse(keySnapshot.data());
    if (key.waiting.length === 0) return [];
    const taken = (await store.collections.concurrencySlots(keyId).count().get()).data().count;
    const free = Math.min(key.limit - taken, MAX_SLOTS_PER_ROUND);
    if (free <= 0) return [];
    const snapshots = await store.firestore.getAll(
      ...key.waiting.map((id) => store.collections.orchestration(id)),
    );
    const plan = await planRound(store, key, snapshots, free);
    if (plan.admissions.length === 0 && plan.waiting.length === key.waiting.length) return [];
    const token = randomUUID();
    const batch = store.firestore.batch();
    const at = now(store);
    batch.update(
      keyRef,
      { waiting: plan.waiting, turn: plan.turn, admissionToken: token, updatedAt: at },
      { lastUpdateTime: keySnapshot.updateTime },
    );
    for (const { admission, snapshot } of plan.admissions) {
      const admitted = admission.first + admission.count;
      batch.update(
        snapshot.ref,
        { admitted, admittedAt: at, updatedAt: at },
        { lastUpdateTime: snapshot.updateTime as NonNullable<DocumentSnapshot['updateTime']> },
      );
      for (let index = admission.first; index < admitted; index++) {
        batch.create(store.collections.concurrencySlot(keyId, admission.orchestration.id, index), {
          orchestrationId: admission.orchestration.id,
          index,
          at,
        });
      }
    }
    const admissions = plan.admissions.map(({ admission }) => admission);
    try {
      await batch.commit();
      return admissions;
    } catch (error) {
      const code = grpcCodeOf(error);
      const raced = code === GrpcStatus.FAILED_PRECONDITION || code === GrpcStatus.ALREADY_EXISTS;
      // A lost answer (the write may have landed): the token says whether it did.
      if (!raced && (await wroteToken(keyRef, token))) return admissions;
      if (!raced || tries >= MAX_KEY_TRIES) throw error;
    }
  }
}

/** One round of slots: who gets how many, the orchestrations still waiting, and the next turn. */
async function planRound(
  store: Store,
  key: z.infer<typeof keyDocSchema>,
  snapshots: DocumentSnapshot[],
  free: number,
): Promise<{
  admissions: { admission: Admission; snapshot: DocumentSnapshot }[];
  waiting: string[];
  turn: number;
}> {
  const nowMs = store.clock.now();
  // Each orchestration's capacity may read its counts: all at once, not one after another.
  const entries = await Promise.all(
    snapshots.map(async (snapshot) => {
      const doc = snapshot.exists ? parseDocument(orchestrationDocSchema, snapshot) : undefined;
      const capacity = doc ? await capacityOf(store, doc, nowMs) : undefined;
      return { id: snapshot.id, snapshot, doc, capacity };
    }),
  );
  const granted = new Map<string, number>();
  let left = free;
  let turn = key.turn % Math.max(1, entries.length);
  for (let idle = 0; left > 0 && idle < entries.length; turn = (turn + 1) % entries.length) {
    const entry = entries[turn];
    const given = granted.get(entry?.id ?? '') ?? 0;
    if (!entry || entry.capacity === undefined || given >= entry.capacity) {
      idle++;
      continue;
    }
    idle = 0;
    granted.set(entry.id, given + 1);
    left--;
  }
  const admissions: { admission: Admission; snapshot: DocumentSnapshot }[] = [];
  for (const entry of entries) {
    const count = granted.get(entry.id) ?? 0;
    if (count === 0 || !entry.doc || entry.doc.admitted === null) continue;
    const first = entry.doc.admitted;
    admissions.push({
      admission: { orchestration: { ...entry.doc, admitted: first + count }, first, count },
      snapshot: entry.snapshot,
    });
  }
  // An orchestration leaves the key's queue once every job of it is admitted, or it can admit no more.
  const waiting = entries
    .filter(
      (entry) =>
        entry.capacity !== undefined &&
        (entry.doc?.admitted ?? 0) + (granted.get(entry.id) ?? 0) < (entry.doc?.total ?? 0),
    )
    .map((entry) => entry.id);
  // The next round starts with the orchestration after the last one served.
  const next = entries[turn]?.id;
  return { admissions, waiting, turn: Math.max(0, next === undefined ? 0 : waiting.indexOf(next)) };
}
