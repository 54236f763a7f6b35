import { DEFAULTS } from '../defaults.js';
import { E11Error, ErrorCode } from '../errors.js';
import { fromGrpcError, GrpcStatus, grpcCodeOf } from '../internal/grpc-errors.js';
import type { NewJobDoc, OrchestrationDoc } from '../model/documents.js';
import type { JobParams } from '../model/json.js';
import { emptyCounts, JobStatus, type StatusCounts } from '../model/status.js';

import { now, type Store } from './store.js';

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
> & { scheduleName?: string | null };

/** What {@link registerOrchestration} writes. `jobIds[i]` is the id of the job for `params[i]`. */
export interface RegistrationInput {
  orchestration: NewOrchestration;
  params: readonly JobParams[];
  jobIds: readonly string[];
}

/** How many counter shards an orchestration of `total` jobs gets (each shard sustains ~1 write/s). */
export function shardCountFor(total: number): number {
  return Math.min(DEFAULTS.maxShards, Math.max(1, Math.ceil(total / DEFAULTS.jobsPerShard)));
}

async function inBatches<T>(
  items: readonly T[],
  size: number,
  concurrency: number,
  write: (chunk: readonly T[]) => Promise<unknown>,
) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const start = next;
      next += size;
      await write(items.slice(start, start + size));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, Math.ceil(items.length / size)) }, worker));
}

/**
 * Writes a new orchestration: first its document with `create()` (so an idempotency key that maps to
 * an existing id is detected atomically), then every job document and counter shard in parallel
 * 500-write batches, then `registered: true`. Returns `{ created: false }` when the orchestration
 * already existed. On a write failure the partial registration is deleted and
 * `E11_REGISTRATION_FAILED` is thrown; nothing has been launched at that point.
 */
export async function registerOrchestration(
  store: Store,
  input: RegistrationInput,
): Promise<{ created: boolean }> {
  const { collections } = store;
  const { orchestration, params, jobIds } = input;
  const total = params.length;
  const shardCount = shardCountFor(total);
  const createdAt = now(store);
  const ref = collections.orchestration(orchestration.id);
  const doc: OrchestrationDoc = {
    v: 1,
    ...orchestration,
    scheduleName: orchestration.scheduleName ?? null,
    status: JobStatus.Pending,
    total,
    shardCount,
    epoch: 1,
    counts: { ...emptyCounts(), pending: total },
    registered: false,
    cancelRequested: false,
    cancelReason: null,
    eventPending: false,
    executions: [],
    createdAt,
    updatedAt: createdAt,
    launchedAt: null,
    launchCompletedAt: null,
    launchHeartbeatAt: null,
    completedAt: null,
  };
  try {
    await ref.create(doc);
  } catch (error) {
    if (grpcCodeOf(error) === GrpcStatus.ALREADY_EXISTS) return { created: false };
    throw fromGrpcError(error, ErrorCode.RegistrationFailed, 'Could not create the orchestration', {
      orchestrationId: orchestration.id,
    });
  }

  type Write = { kind: 'job'; index: number } | { kind: 'shard'; shard: number; counts: StatusCounts };
  const writes: Write[] = params.map((_, index) => ({ kind: 'job', index }));
  for (let shard = 0; shard < shardCount; shard++) {
    const pending = Math.floor(total / shardCount) + (shard < total % shardCount ? 1 : 0);
    writes.push({ kind: 'shard', shard, counts: { ...emptyCounts(), pending } });
  }
  const jobs = collections.jobs(orchestration.id);
  try {
    await inBatches(writes, DEFAULTS.batchSize, DEFAULTS.batchConcurrency, async (chunk) => {
      const batch = store.firestore.batch();
      for (const write of chunk) {
        if (write.kind === 'shard') {
          batch.set(collections.counter(orchestration.id, write.shard), write.counts);
          continue;
        }
        const job: NewJobDoc = {
          jobName: orchestration.jobName,
          index: write.index,
          shard: write.index % shardCount,
          params: params[write.index] as JobParams,
          status: JobStatus.Pending,
          createdAt,
          updatedAt: createdAt,
        };
        batch.set(jobs.doc(jobIds[write.index] as string), job);
      }
      await batch.commit();
    });
    await ref.update({ registered: true, updatedAt: now(store) });
  } catch (error) {
    await store.firestore.recursiveDelete(ref).catch(() => undefined);
    if (error instanceof E11Error) throw error;
    throw fromGrpcError(error, ErrorCode.RegistrationFailed, 'Could not register the job documents', {
      orchestrationId: orchestration.id,
    });
  }
  return { created: true };
}
