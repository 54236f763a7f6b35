import {
  type DocumentData,
  type DocumentReference,
  type Firestore,
  Timestamp,
  type UpdateData,
  type WriteResult,
} from '@google-cloud/firestore';

import { type Clock, systemClock } from '../clock.js';
import { retryWithBackoff } from '../internal/backoff.js';
import { isRetryableGrpcError } from '../internal/grpc-errors.js';
import { Collections } from '../model/collections.js';

/**
 * What every store function needs: the Firestore client, the collection paths and a clock. Every state
 * change of an orchestration or a job is one named function of this folder taking it first; nothing
 * else writes them. A job has no document until its first change, which that change's function
 * creates (unwritten-jobs.ts says who and how).
 */
export interface Store {
  readonly firestore: Firestore;
  readonly collections: Collections;
  readonly clock: Clock;
  /**
   * The tenant this store is scoped to: orchestrations of other tenants are invisible (reads answer
   * "unknown"), lists are filtered, and new orchestrations are stamped with it. Null: unscoped
   * (runners, functions and operators see everything).
   */
  readonly tenant: string | null;
}

/** Options for {@link createStore}. */
export interface StoreOptions {
  firestore: Firestore;
  /** @default DEFAULTS.collectionPrefix ('e11_') */
  collectionPrefix?: string;
  /** @default the system clock */
  clock?: Clock;
  /** @default null (unscoped) */
  tenant?: string | null;
}

/** Builds the {@link Store} the state-change functions take as their first argument. */
export function createStore(options: StoreOptions): Store {
  return {
    firestore: options.firestore,
    collections: new Collections(options.firestore, options.collectionPrefix),
    clock: options.clock ?? systemClock,
    tenant: options.tenant ?? null,
  };
}

/** The store's current time as a Firestore Timestamp. */
export function now(store: Store): Timestamp {
  return Timestamp.fromMillis(store.clock.now());
}

/**
 * `ref.update(data)` for an update that may be applied twice (it sets fixed values), tried again on a
 * transient error: a commit can fail after it was applied, and the emulator answers some writes to a
 * document that many clients are writing and watching with UNKNOWN (about 1 in 100 in a test of 20
 * concurrent duplicate kick-offs).
 */
export function updateIdempotent(
  ref: DocumentReference,
  data: UpdateData<DocumentData>,
): Promise<WriteResult> {
  return retryWithBackoff(() => ref.update(data), {
    maxAttempts: 5,
    initialMs: 50,
    maxMs: 1_000,
    isRetryable: isRetryableGrpcError,
  });
}
