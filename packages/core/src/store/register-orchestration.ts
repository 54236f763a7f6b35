import { randomUUID } from 'node:crypto';

import type { DocumentReference, Timestamp } from '@google-cloud/firestore';

import { DEFAULTS } from '../defaults.js';
import { E11Error, ErrorCode } from '../errors.js';
import { fromGrpcError, GrpcStatus, grpcCodeOf, isRetryableGrpcError } from '../internal/grpc-errors.js';
import { encodeParams, type OrchestrationDoc, type ParamsChunkDoc } from '../model/documents.js';
import type { JobParams } from '../model/json.js';
import { emptyCounts, JobStatus, type StatusCounts } from '../model/status.js';

import { now, type Store, updateIdempotent } from './store.js';
import { paramsChunkSizeFor, type UnwrittenJob, unwrittenJobsInMemory } from './unwritten-jobs.js';

/** Fields of a new orchestration that the caller decides. */
export type NewOrchestration = Pick<
  OrchestrationDoc,
  | 'id'
  | 'jobName'
  | 'service'
  | 'tags'
  | 'tenant'
  | 'topic'
  | 'mode'
  | 'policy'
  | 'idempotencyKey'
  | 'sensitiveKeys'
  | 'deadlineAt'
> & {
  scheduleName?: string | null;
  pipeline?: OrchestrationDoc['pipeline'];
  traceparent?: string | null;
  startAt?: OrchestrationDoc['startAt'];
  maxParallel?: number | null;
  concurrencyKey?: string | null;
  inFlightBudget?: string | null;
  maxFailures?: number | null;
  successNeeded?: number | null;
  /** One task's CPU and memory, and the prices its task time is costed at (see `OrchestrationInfo.cost`). */
  resources?: OrchestrationDoc['resources'];
  pricing?: OrchestrationDoc['pricing'];
};

/**
 * What {@link registerOrchestration} did: `created: false` when the orchestration already existed;
 * else `unwritten` gives its jobs as registered, from memory (for the launch that follows), and
 * `createdAt` is the orchestration's.
 */
export type RegistrationResult =
  | { created: false }
  | { created: true; unwritten: (index: number) => UnwrittenJob | undefined; createdAt: Timestamp };

/** What {@link registerOrchestration} writes. The job for `params[i]` has id `jobIdFor(orchestration.id, i)`. */
export interface RegistrationInput {
  orchestration: NewOrchestration;
  params: readonly JobParams[];
}

/** How many counter shards an orchestration of `total` jobs gets (each shard sustains ~1 write/s). */
export function shardCountFor(total: number): number {
  return Math.min(DEFAULTS.maxShards, Math.max(1, Math.ceil(total / DEFAULTS.jobsPerShard)));
}

/**
 * Splits `items` into batches of at most `maxWrites` items whose `bytes` add up to at most `maxBytes`
 * (an item heavier than that goes alone). Order is kept.
 */
export function splitIntoBatches<T>(
  items: readonly T[],
  bytes: (item: T) => number,
  limits: { maxWrites: number; maxBytes: number },
): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let currentBytes = 0;
  for (const item of items) {
    const size = bytes(item);
    if (current.length > 0 && (current.length >= limits.maxWrites || currentBytes + size > limits.maxBytes)) {
      batches.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(item);
    currentBytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/**
 * Writes `batches` with at most `concurrency` in flight. After the first failure no new batch starts,
 * and it throws that failure only once the batches in flight have settled, so a clean-up that follows
 * sees every document that was written.
 */
async function inParallel<T>(
  batches: readonly T[][],
  concurrency: number,
  write: (batch: readonly T[]) => Promise<unknown>,
) {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < batches.length) {
      try {
        await write(batches[next++] as T[]);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  const settled = await Promise.allSettled(
    Array.from({ length: Math.min(concurrency, batches.length) }, worker),
  );
  const failure = settled.find((result) => result.status === 'rejected');
  if (failure) throw failure.reason;
}

const CREATE_ATTEMPTS = 3;

/**
 * Creates the orchestration document; true if this call created it, false if another kick-off did.
 * A commit that fails transiently may have been applied, or be retried by the client after it was
 * (then answering ALREADY_EXISTS): in both cases the stored `registrationToken` tells whose document it is. When the
 * document is absent after such an answer, the create is tried again (a few times).
 */
export async function createOrchestrationDoc(
  ref: DocumentReference,
  doc: OrchestrationDoc,
): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    let failure: unknown;
    try {
      await ref.create(doc);
      return true;
    } catch (error) {
      failure = error;
    }
    if (grpcCodeOf(failure) !== GrpcStatus.ALREADY_EXISTS && !isRetryableGrpcError(failure)) throw failure;
    const existing = await ref.get();
    if (existing.exists) return existing.get('registrationToken') === doc.registrationToken;
    if (attempt >= CREATE_ATTEMPTS) throw failure;
    await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
  }
}

/**
 * Writes a new orchestration: first its document with `create()` (so an idempotency key that maps to
 * an existing id is detected atomically), then its params chunks (see unwritten-jobs.ts: no job document
 * is written here) and counter shards in parallel batches, then `registered: true`. Returns
 * `{ created: false }` when the orchestration already existed. On a write failure the partial registration is deleted and
 * `E11_REGISTRATION_FAILED` is thrown; nothing has been launched at that point.
 */
export async function registerOrchestration(
  store: Store,
  input: RegistrationInput,
): Promise<RegistrationResult> {
  const { collections } = store;
  const { orchestration, params } = input;
  const total = params.length;
  const encoded = params.map((set) => encodeParams(set));
  const shardCount = shardCountFor(total);
  const chunkSize = paramsChunkSizeFor(encoded);
  const createdAt = now(store);
  const ref = collections.orchestration(orchestration.id);
  const doc: OrchestrationDoc = {
    v: 1,
    ...orchestration,
    scheduleName: orchestration.scheduleName ?? null,
    pipeline: orchestration.pipeline ?? null,
    traceparent: orchestration.traceparent ?? null,
    startAt: orchestration.startAt ?? null,
    maxParallel: orchestration.maxParallel ?? null,
    concurrencyKey: orchestration.concurrencyKey ?? null,
    inFlightBudget: orchestration.inFlightBudget ?? null,
    maxFailures: orchestration.maxFailures ?? null,
    successNeeded: orchestration.successNeeded ?? null,
    resources: orchestration.resources ?? null,
    pricing: orchestration.pricing ?? null,
    taskMillis: null,
    // Without shared slots (a concurrency key, the region's in-flight budget) the first maxParallel
    // are taken at once (the kick-off launches those jobs); with them, the key or budget admits them.
    admitted:
      orchestration.concurrencyKey || orchestration.inFlightBudget
        ? 0
        : orchestration.maxParallel
          ? Math.min(orchestration.maxParallel, total)
          : null,
    admittedAt:
      orchestration.maxParallel || orchestration.concurrencyKey || orchestration.inFlightBudget
        ? createdAt
        : null,
    admissionToken: null,
    readmit: [],
    status: JobStatus.Pending,
    total,
    shardCount,
    epoch: 1,
    counts: { ...emptyCounts(), pending: total },
    registered: false,
    paramsChunkSize: chunkSize,
    registrationToken: randomUUID(),
    cancelRequested: false,
    paused: false,
    pausedAt: null,
    cancelReason: null,
    eventPending: false,
    eventRetryAt: null,
    executions: [],
    arrayLaunches: [],
    createdAt,
    updatedAt: createdAt,
    launchedAt: null,
    launchCompletedAt: null,
    launchHeartbeatAt: null,
    completedAt: null,
  };
  try {
    if (!(await createOrchestrationDoc(ref, doc))) return { created: false };
  } catch (error) {
    throw fromGrpcError(error, ErrorCode.RegistrationFailed, 'Could not create the orchestration', {
      orchestrationId: orchestration.id,
    });
  }

  type Write =
    { kind: 'chunk'; chunk: number; bytes: number } | { kind: 'shard'; shard: number; counts: StatusCounts };
  const writes: Write[] = [];
  for (let first = 0, chunk = 0; first < total; first += chunkSize, chunk++) {
    let bytes = 1_024;
    for (let index = first; index < Math.min(total, first + chunkSize); index++) {
      bytes += Buffer.byteLength(encoded[index] as string, 'utf8') + 16;
    }
    writes.push({ kind: 'chunk', chunk, bytes });
  }
  for (let shard = 0; shard < shardCount; shard++) {
    const pending = Math.floor(total / shardCount) + (shard < total % shardCount ? 1 : 0);
    writes.push({ kind: 'shard', shard, counts: { ...emptyCounts(), pending } });
  }
  try {
    const batches = splitIntoBatches(writes, (write) => (write.kind === 'chunk' ? write.bytes : 1_024), {
      maxWrites: DEFAULTS.batchSize,
      maxBytes: DEFAULTS.batchMaxBytes,
    });
    await inParallel(batches, DEFAULTS.batchConcurrency, async (group) => {
      const batch = store.firestore.batch();
      for (const write of group) {
        if (write.kind === 'shard') {
          batch.set(collections.counter(orchestration.id, write.shard), write.counts);
          continue;
        }
        const first = write.chunk * chunkSize;
        const chunk: ParamsChunkDoc = { v: 1, first, params: encoded.slice(first, first + chunkSize) };
        batch.set(collections.paramsChunk(orchestration.id, write.chunk), chunk);
      }
      await batch.commit();
    });
    await updateIdempotent(ref, { registered: true, updatedAt: now(store) });
  } catch (error) {
    await store.firestore.recursiveDelete(ref).catch(() => undefined);
    if (error instanceof E11Error) throw error;
    throw fromGrpcError(error, ErrorCode.RegistrationFailed, 'Could not register the job documents', {
      orchestrationId: orchestration.id,
    });
  }
  return { created: true, unwritten: unwrittenJobsInMemory(doc, encoded), createdAt };
}
