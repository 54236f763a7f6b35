import { AggregateField, type AggregateQuerySnapshot } from '@google-cloud/firestore';

import type { StatusCounts } from '../model/status.js';

import type { Store } from './store.js';

const SUMS = {
  pending: AggregateField.sum('pending'),
  inProgress: AggregateField.sum('inProgress'),
  completed: AggregateField.sum('completed'),
  errored: AggregateField.sum('errored'),
  cancelled: AggregateField.sum('cancelled'),
};

type Sums = AggregateQuerySnapshot<typeof SUMS>;

/** A query takes at most 5 aggregations (Firestore's limit): task time is a second one. */
const TASK_TIME = { taskMillis: AggregateField.sum('taskMillis') };

/** What an orchestration's counter shards add up to: its live counts and its task time. */
export interface ShardTotals {
  counts: StatusCounts;
  /** Milliseconds of every ended attempt, start to end (store/attempt-time.ts). */
  taskMillis: number;
}

function toCounts(snapshot: Sums): StatusCounts {
  const data = snapshot.data();
  return {
    pending: data.pending ?? 0,
    inProgress: data.inProgress ?? 0,
    completed: data.completed ?? 0,
    errored: data.errored ?? 0,
    cancelled: data.cancelled ?? 0,
  };
}

/**
 * Live counts of an orchestration's jobs per status: one `sum()` aggregation over its counter shards
 * (billed as one read per 1,000 shards; the number of shards is bounded), never a scan of the jobs.
 */
export async function readCounts(store: Store, orchestrationId: string): Promise<StatusCounts> {
  return toCounts(await store.collections.counters(orchestrationId).aggregate(SUMS).get());
}

/**
 * Live counts and task time of an orchestration: two `sum()` aggregations over its counter shards, run
 * together (a query takes at most 5 aggregations), each billed as {@link readCounts}.
 */
export async function readShardTotals(store: Store, orchestrationId: string): Promise<ShardTotals> {
  const shards = store.collections.counters(orchestrationId);
  const [counts, time] = await Promise.all([shards.aggregate(SUMS).get(), shards.aggregate(TASK_TIME).get()]);
  return { counts: toCounts(counts), taskMillis: time.data().taskMillis ?? 0 };
}

/** Adds up the task time of counter shard documents that a listener already holds (no extra reads). */
export function sumTaskMillis(shards: readonly { taskMillis?: unknown }[]): number {
  return shards.reduce(
    (total, shard) => total + (typeof shard.taskMillis === 'number' ? shard.taskMillis : 0),
    0,
  );
}

/** Adds up counter shard documents that a listener already holds (no extra reads). */
export function sumShards(shards: readonly Partial<StatusCounts>[]): StatusCounts {
  const total: StatusCounts = { pending: 0, inProgress: 0, completed: 0, errored: 0, cancelled: 0 };
  for (const shard of shards) {
    for (const key of Object.keys(total) as (keyof StatusCounts)[]) total[key] += shard[key] ?? 0;
  }
  return total;
}
