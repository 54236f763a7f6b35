import type { Transaction } from '@google-cloud/firestore';

import { DEFAULTS } from '../defaults.js';
import { E11Error, ErrorCode } from '../errors.js';
import { GrpcStatus, grpcCodeOf } from '../internal/grpc-errors.js';
import { jobIdFor } from '../internal/ids.js';
import {
  encodeParams,
  type JobDoc,
  jobDocSchema,
  type NewJobDoc,
  type OrchestrationDoc,
  orchestrationDocSchema,
  type ParamsChunkDoc,
  paramsChunkDocSchema,
} from '../model/documents.js';
import type { JobParams } from '../model/json.js';
import { parseDocument, parseJobDocument } from '../model/parse.js';
import { JobStatus } from '../model/status.js';

import type { Store } from './store.js';

/**
 * Kick-off writes the params of its jobs in chunks (`…/params/{chunk}`, up to
 * `DEFAULTS.paramsChunkMaxJobs` sets each), not one document per job: a job's own document is written
 * when its task claims it, or when it ends without starting (launch failed, cancelled). Until then the
 * job is `Pending` and is read from its chunk: a *virtual* job, which every reader sees like a stored
 * one. Orchestrations registered by earlier releases (`paramsChunkSize: null`) have every job stored.
 */

/** The fields of an orchestration a virtual job is built from (none of them changes after kick-off). */
export type JobSource = Pick<OrchestrationDoc, 'id' | 'jobName' | 'shardCount' | 'total' | 'createdAt'> & {
  paramsChunkSize: number | null;
};

/** A `Pending` job without a document yet. `virtual` is not enumerable: a spread copy is a plain job. */
export type VirtualJob = JobDoc & { readonly virtual: true };

export function isVirtualJob(job: object): job is VirtualJob {
  return (job as { virtual?: unknown }).virtual === true;
}

/** Sets per chunk for these params: at most `paramsChunkMaxJobs`, fewer when they are large (at least 1). */
export function paramsChunkSizeFor(encoded: readonly string[]): number {
  let largest = 1;
  for (const text of encoded) largest = Math.max(largest, Buffer.byteLength(text, 'utf8'));
  return Math.max(
    1,
    Math.min(DEFAULTS.paramsChunkMaxJobs, Math.floor(DEFAULTS.paramsChunkMaxBytes / largest)),
  );
}

/** The document a job gets when it is first written, as the bench's naive baseline also writes it. */
export function newJobDoc(
  source: Pick<JobSource, 'jobName' | 'shardCount' | 'createdAt'>,
  index: number,
  params: string,
): NewJobDoc {
  return {
    jobName: source.jobName,
    index,
    shard: index % source.shardCount,
    params,
    status: JobStatus.Pending,
    createdAt: source.createdAt,
    updatedAt: source.createdAt,
  };
}

/** The stored fields a virtual job's first write starts from (its status and patch are added). */
export function firstWriteOf(job: VirtualJob): NewJobDoc {
  return {
    jobName: job.jobName,
    index: job.index,
    shard: job.shard,
    params: encodeParams(job.params as JobParams),
    status: JobStatus.Pending,
    createdAt: job.createdAt,
    updatedAt: job.createdAt,
  };
}

/** A `Pending` job without a document, built from its orchestration and its params as stored (`params`). */
export function virtualJob(
  source: JobSource,
  index: number,
  params: string,
  chunkPath: string,
  id = jobIdFor(source.id, index),
): VirtualJob {
  const parsed = jobDocSchema.safeParse({
    ...newJobDoc(source, index, params),
    id,
    orchestrationId: source.id,
  });
  if (!parsed.success) {
    throw new E11Error(
      ErrorCode.CorruptDocument,
      `Document ${chunkPath} holds params for job ${index} that do not parse: ${parsed.error.issues[0]?.message ?? 'invalid'}.`,
      { context: { path: 'params', document: chunkPath } },
    );
  }
  return Object.defineProperty(parsed.data, 'virtual', { value: true, enumerable: false }) as VirtualJob;
}

/** The index of job `jobId`, trying `hint` first (ids derive from the orchestration id and the index). */
function indexOfJob(source: JobSource, jobId: string, hint: number | undefined): number | undefined {
  if (hint !== undefined && hint >= 0 && hint < source.total && jobIdFor(source.id, hint) === jobId)
    return hint;
  for (let index = 0; index < source.total; index++) {
    if (jobIdFor(source.id, index) === jobId) return index;
  }
  return undefined;
}

async function readParamsChunk(
  store: Store,
  orchestrationId: string,
  chunk: number,
): Promise<{ doc: ParamsChunkDoc; path: string } | undefined> {
  const snapshot = await store.collections.paramsChunk(orchestrationId, chunk).get();
  if (!snapshot.exists) return undefined;
  return { doc: parseDocument(paramsChunkDocSchema, snapshot), path: snapshot.ref.path };
}

/** What identifies the job to find: its index, or its id (with the index as a hint, if known). */
export type JobTarget = { index: number } | { jobId: string; indexHint?: number };

/**
 * The job as its params chunk gives it, for a job that has no document; undefined when the orchestration
 * stores every job (an earlier release) or has no such job. One chunk read.
 */
export async function findVirtualJob(
  store: Store,
  source: JobSource,
  target: JobTarget,
): Promise<VirtualJob | undefined> {
  const index = 'index' in target ? target.index : indexOfJob(source, target.jobId, target.indexHint);
  return index === undefined ? undefined : virtualJobsByIndex(store, source)(index);
}

/**
 * A reader of the orchestration's jobs by index, as their params chunks give them (for jobs that have no
 * document), that reads each chunk once: for a loop over many jobs, such as a launch.
 */
export function virtualJobsByIndex(
  store: Store,
  source: JobSource,
): (index: number) => Promise<VirtualJob | undefined> {
  const chunks = new Map<number, Promise<{ doc: ParamsChunkDoc; path: string } | undefined>>();
  return async (index) => {
    const size = source.paramsChunkSize;
    if (size === null || !Number.isInteger(index) || index < 0 || index >= source.total) return undefined;
    const number = Math.floor(index / size);
    let read = chunks.get(number);
    if (!read) {
      read = readParamsChunk(store, source.id, number);
      chunks.set(number, read);
      read.catch(() => chunks.delete(number)); // a failed read is tried again by the next caller
    }
    const chunk = await read;
    const params = chunk?.doc.params[index - chunk.doc.first];
    return chunk && params !== undefined ? virtualJob(source, index, params, chunk.path) : undefined;
  };
}

/**
 * Every job of the orchestration that has no document (their ids are not in `stored`), in index order:
 * one query over its params chunks (a chunk holds up to `DEFAULTS.paramsChunkMaxJobs` jobs).
 */
export async function readVirtualJobs(
  store: Store,
  source: JobSource,
  stored: ReadonlySet<string>,
): Promise<VirtualJob[]> {
  if (source.paramsChunkSize === null) return [];
  const snapshot = await store.collections.paramsChunks(source.id).get();
  const jobs: VirtualJob[] = [];
  for (const doc of snapshot.docs) {
    const chunk = parseDocument(paramsChunkDocSchema, doc);
    chunk.params.forEach((params, offset) => {
      const index = chunk.first + offset;
      const id = jobIdFor(source.id, index);
      if (!stored.has(id)) jobs.push(virtualJob(source, index, params, doc.ref.path, id));
    });
  }
  return jobs.sort((a, b) => a.index - b.index);
}

/** Reads the fields of an orchestration that virtual jobs are built from; undefined if it is gone. */
async function readJobSource(store: Store, orchestrationId: string): Promise<JobSource | undefined> {
  const snapshot = await store.collections.orchestration(orchestrationId).get();
  if (!snapshot.exists) return undefined;
  return parseDocument(orchestrationDocSchema, snapshot);
}

/** How a writer finds a job that may have no document yet. */
export interface JobLookup {
  orchestrationId: string;
  jobId: string;
  /** The job's index, if the caller knows it (saves searching for it). */
  indexHint?: number;
  /** The job as the caller already read it: a virtual one is used as is (no chunk read). */
  known?: JobDoc;
  /** The orchestration, if the caller already read it. */
  source?: JobSource;
}

/**
 * The virtual job of `lookup`, read at most once however often it is called (a transaction may run its
 * function several times); a failed read is tried again on the next call.
 */
function lazyVirtualJob(store: Store, lookup: JobLookup): () => Promise<VirtualJob | undefined> {
  let found: Promise<VirtualJob | undefined> | undefined;
  const resolve = async () => {
    const { known } = lookup;
    if (known && isVirtualJob(known) && known.id === lookup.jobId) return known;
    const source = lookup.source ?? (await readJobSource(store, lookup.orchestrationId));
    if (!source) return undefined;
    return findVirtualJob(store, source, {
      jobId: lookup.jobId,
      indexHint: lookup.indexHint ?? known?.index,
    });
  };
  return () =>
    (found ??= resolve().catch((error: unknown) => {
      found = undefined;
      throw error;
    }));
}

/**
 * Runs `change` in a transaction on one job: its document, or the virtual job when it has none yet
 * (undefined when neither exists). A `transition` of a virtual job creates its document; if another
 * writer created it first (ALREADY_EXISTS), the transaction runs once more, against that document.
 */
export async function runJobTransaction<T>(
  store: Store,
  lookup: JobLookup,
  change: (tx: Transaction, job: JobDoc | undefined) => T | Promise<T>,
): Promise<T> {
  const ref = store.collections.job(lookup.orchestrationId, lookup.jobId);
  const virtual = lazyVirtualJob(store, lookup);
  const run = () =>
    store.firestore.runTransaction(async (tx) => {
      const snapshot = await tx.get(ref);
      return change(tx, snapshot.exists ? parseJobDocument(snapshot) : await virtual());
    });
  try {
    return await run();
  } catch (error) {
    if (grpcCodeOf(error) !== GrpcStatus.ALREADY_EXISTS) throw error;
    return run();
  }
}

/** The jobs of the orchestration that have no document yet: the job ids listed, then the chunks read. */
export async function readUnwrittenJobs(store: Store, source: JobSource): Promise<VirtualJob[]> {
  if (source.paramsChunkSize === null) return [];
  const stored = await store.collections.jobs(source.id).select().get();
  return readVirtualJobs(store, source, new Set(stored.docs.map((doc) => doc.id)));
}
