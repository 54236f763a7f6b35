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
 * One job layout. Kick-off writes the params of its jobs in chunks (`…/params/{chunk}`, up to
 * `DEFAULTS.paramsChunkMaxJobs` sets each, `paramsChunkSize` per chunk), never one document per job.
 * Until a job's first change it has no document: it is `Pending` and is read from its chunk, an
 * *unwritten job*, which every reader sees like a stored one.
 *
 * Who writes a job's document first: the store function that makes the job's first change, whichever
 * it is — the per-job launch recording its execution (`recordJobExecution`), the task's claim
 * (`claimJob`), or an end without a start (`failPendingJob`, `cancelJob`, the sweeper's requeue) — and
 * always with `create()` from {@link unwrittenJobDoc}, so of two first writers exactly one wins; the
 * other gets ALREADY_EXISTS and runs again against the stored document. No other code writes a job.
 */

/** The fields of an orchestration an unwritten job is built from (none of them changes after kick-off). */
export type JobSource = Pick<
  OrchestrationDoc,
  | 'id'
  | 'jobName'
  | 'shardCount'
  | 'total'
  | 'createdAt'
  | 'paramsChunkSize'
  | 'maxParallel'
  | 'concurrencyKey'
  | 'inFlightBudget'
  | 'maxFailures'
  | 'successNeeded'
>;

/** A `Pending` job without a document yet. `unwritten` is not enumerable: a spread copy is a plain job. */
export type UnwrittenJob = JobDoc & { readonly unwritten: true };

/** Whether `job` was read from its params chunk (it has no document yet). */
export function isUnwrittenJob(job: object): job is UnwrittenJob {
  return (job as { unwritten?: unknown }).unwritten === true;
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
  source: Pick<
    JobSource,
    | 'jobName'
    | 'shardCount'
    | 'createdAt'
    | 'maxParallel'
    | 'concurrencyKey'
    | 'inFlightBudget'
    | 'maxFailures'
    | 'successNeeded'
  >,
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
    ...(isLimited(source) ? { limited: true } : {}),
    ...(source.concurrencyKey ? { concurrencyKey: source.concurrencyKey } : {}),
    ...(source.inFlightBudget ? { inFlightBudget: source.inFlightBudget } : {}),
    ...((source.maxFailures ?? null) !== null || (source.successNeeded ?? null) !== null
      ? { earlyEnd: true }
      : {}),
  };
}

/**
 * Whether the jobs of `source` are admitted one slot at a time (`maxParallel`, a concurrency key, or the
 * region's executions-in-flight budget).
 */
function isLimited(source: Pick<JobSource, 'maxParallel' | 'concurrencyKey' | 'inFlightBudget'>): boolean {
  return (
    (source.maxParallel ?? null) !== null ||
    (source.concurrencyKey ?? null) !== null ||
    (source.inFlightBudget ?? null) !== null
  );
}

/** The document an unwritten job's first write creates (its status and patch are added). */
export function unwrittenJobDoc(job: UnwrittenJob): NewJobDoc {
  return {
    jobName: job.jobName,
    index: job.index,
    shard: job.shard,
    params: encodeParams(job.params as JobParams),
    status: JobStatus.Pending,
    createdAt: job.createdAt,
    updatedAt: job.createdAt,
    ...(job.limited ? { limited: true } : {}),
    ...(job.concurrencyKey ? { concurrencyKey: job.concurrencyKey } : {}),
    ...(job.inFlightBudget ? { inFlightBudget: job.inFlightBudget } : {}),
    ...(job.earlyEnd ? { earlyEnd: true } : {}),
  };
}

function unwrittenJob(
  source: JobSource,
  index: number,
  params: string,
  chunkPath: string,
  id = jobIdFor(source.id, index),
): UnwrittenJob {
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
  return Object.defineProperty(parsed.data, 'unwritten', { value: true, enumerable: false }) as UnwrittenJob;
}

/**
 * The jobs of an orchestration its caller has just registered, as their params chunks give them, from
 * the params it holds in memory (`encoded[i]` is job i's JSON text): a kick-off's launch reads nothing.
 */
export function unwrittenJobsInMemory(
  source: JobSource,
  encoded: readonly string[],
): (index: number) => UnwrittenJob | undefined {
  return (index) => {
    const params = encoded[index];
    if (params === undefined) return undefined;
    const chunk = Math.floor(index / source.paramsChunkSize);
    return unwrittenJob(source, index, params, `${source.id}/params/${chunk}`);
  };
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
 * has no such job. One chunk read.
 */
export async function findUnwrittenJob(
  store: Store,
  source: JobSource,
  target: JobTarget,
): Promise<UnwrittenJob | undefined> {
  const index = 'index' in target ? target.index : indexOfJob(source, target.jobId, target.indexHint);
  return index === undefined ? undefined : unwrittenJobsByIndex(store, source)(index);
}

/**
 * A reader of the orchestration's jobs by index, as their params chunks give them (for jobs that have no
 * document), that reads each chunk once: for a loop over many jobs, such as a launch.
 */
export function unwrittenJobsByIndex(
  store: Store,
  source: JobSource,
): (index: number) => Promise<UnwrittenJob | undefined> {
  const chunks = new Map<number, Promise<{ doc: ParamsChunkDoc; path: string } | undefined>>();
  return async (index) => {
    const size = source.paramsChunkSize;
    if (!Number.isInteger(index) || index < 0 || index >= source.total) return undefined;
    const number = Math.floor(index / size);
    let read = chunks.get(number);
    if (!read) {
      read = readParamsChunk(store, source.id, number);
      chunks.set(number, read);
      read.catch(() => chunks.delete(number)); // a failed read is tried again by the next caller
    }
    const chunk = await read;
    const params = chunk?.doc.params[index - chunk.doc.first];
    return chunk && params !== undefined ? unwrittenJob(source, index, params, chunk.path) : undefined;
  };
}

/**
 * Every job of the orchestration that has no document, in index order: one query over its params chunks
 * (a chunk holds up to `DEFAULTS.paramsChunkMaxJobs` jobs). `stored`: the ids of the jobs that have a
 * document, if the caller has them; else they are listed first (one query, ids only).
 */
export async function readUnwrittenJobs(
  store: Store,
  source: JobSource,
  stored?: ReadonlySet<string>,
): Promise<UnwrittenJob[]> {
  const written =
    stored ?? new Set((await store.collections.jobs(source.id).select().get()).docs.map((doc) => doc.id));
  const snapshot = await store.collections.paramsChunks(source.id).get();
  const jobs: UnwrittenJob[] = [];
  for (const doc of snapshot.docs) {
    const chunk = parseDocument(paramsChunkDocSchema, doc);
    chunk.params.forEach((params, offset) => {
      const index = chunk.first + offset;
      const id = jobIdFor(source.id, index);
      if (!written.has(id)) jobs.push(unwrittenJob(source, index, params, doc.ref.path, id));
    });
  }
  return jobs.sort((a, b) => a.index - b.index);
}

/** Reads the fields of an orchestration that unwritten jobs are built from; undefined if it is gone. */
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
  /** The job as the caller already read it: an unwritten one is used as is (no chunk read). */
  known?: JobDoc;
  /** The orchestration, if the caller already read it. */
  source?: JobSource;
}

/**
 * The unwritten job of `lookup`, read at most once however often it is called (a transaction may run
 * its function several times); a failed read is tried again on the next call.
 */
export function lazyUnwrittenJob(store: Store, lookup: JobLookup): () => Promise<UnwrittenJob | undefined> {
  let found: Promise<UnwrittenJob | undefined> | undefined;
  const resolve = async () => {
    const { known } = lookup;
    if (known && isUnwrittenJob(known) && known.id === lookup.jobId) return known;
    const source = lookup.source ?? (await readJobSource(store, lookup.orchestrationId));
    if (!source) return undefined;
    return findUnwrittenJob(store, source, {
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
 * Runs `change` in a transaction on one job: its document, or the unwritten job when it has none yet
 * (undefined when neither exists). A `transition` of an unwritten job creates its document; if another
 * writer created it first (ALREADY_EXISTS), the transaction runs once more, against that document.
 */
export async function runJobTransaction<T>(
  store: Store,
  lookup: JobLookup,
  change: (tx: Transaction, job: JobDoc | undefined) => T | Promise<T>,
): Promise<T> {
  const ref = store.collections.job(lookup.orchestrationId, lookup.jobId);
  const unwritten = lazyUnwrittenJob(store, lookup);
  const run = () =>
    store.firestore.runTransaction(async (tx) => {
      const snapshot = await tx.get(ref);
      return change(tx, snapshot.exists ? parseJobDocument(snapshot) : await unwritten());
    });
  try {
    return await run();
  } catch (error) {
    if (grpcCodeOf(error) !== GrpcStatus.ALREADY_EXISTS) throw error;
    return run();
  }
}
