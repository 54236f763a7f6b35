import { randomUUID } from 'node:crypto';

import { type DocumentSnapshot, FieldValue, Timestamp, type Transaction } from '@google-cloud/firestore';
import { z } from 'zod';

import { E11Error, ErrorCode } from '../errors.js';
import { statusCountsSchema, timestamp } from '../model/documents.js';
import { parseDocument } from '../model/parse.js';
import { publishBackoffMs } from '../store/completion-marker.js';
import { now, type Store } from '../store/store.js';

import { STAGE_FAILURE_MODES } from './definition.js';

export const PIPELINE_STATUSES = ['InProgress', 'Completed', 'Errored', 'Cancelled'] as const;
export type PipelineStatus = (typeof PIPELINE_STATUSES)[number];
export const STAGE_STATUSES = [
  'Waiting',
  'InProgress',
  'Completed',
  'Errored',
  'Cancelled',
  'Skipped',
] as const;
export type StageStatus = (typeof STAGE_STATUSES)[number];
/**
 * Why a pipeline ended other than by finishing its last stage: a stage with failures and `onFailure:
 * 'fail'`, a stage's `params` function threw, a caller cancelled it, or the deployment that advanced it
 * had a definition of another shape.
 */
export const PIPELINE_END_REASONS = [
  'stageFailed',
  'paramsFailed',
  'cancelled',
  'definitionChanged',
] as const;
export type PipelineEndReason = (typeof PIPELINE_END_REASONS)[number];

const stageStateSchema = z.object({
  name: z.string(),
  job: z.string(),
  onFailure: z.enum(STAGE_FAILURE_MODES),
  /** Derived from the pipeline id and the stage index: the stage's kick-off is idempotent on it. */
  orchestrationId: z.string(),
  status: z.enum(STAGE_STATUSES),
  /** The stage orchestration's counts at its end. */
  counts: statusCountsSchema.nullable(),
  startedAt: timestamp.nullable(),
  endedAt: timestamp.nullable(),
});
export type StageState = z.infer<typeof stageStateSchema>;

/** The end of one epoch of a pipeline: its event's id and publish state (the pipeline's completion marker). */
const pipelineEventSchema = z.object({
  epoch: z.number().int().positive(),
  eventId: z.string(),
  published: z.boolean(),
  publishAttempts: z.number().int().nonnegative(),
  messageId: z.string().nullable(),
  lastPublishError: z.string().nullable(),
  leaseUntil: timestamp.nullable(),
  leaseHolder: z.string().nullable(),
  publishedAt: timestamp.nullable(),
});

/** `{prefix}pipelines/{pipelineId}`: one pipeline, its stages and its end's event. */
export const pipelineDocSchema = z.object({
  v: z.literal(1),
  id: z.string(),
  name: z.string(),
  fingerprint: z.string(),
  tenant: z.string().nullable(),
  tags: z.record(z.string(), z.string()),
  topic: z.string(),
  sensitiveKeys: z.array(z.string()),
  idempotencyKey: z.string().nullable(),
  /** The input's JSON text. */
  input: z.string(),
  status: z.enum(PIPELINE_STATUSES),
  /** 1 at start, +1 each time retryFailed resumes it: one PipelineCompletedEvent per epoch's end. */
  epoch: z.number().int().positive(),
  /** The index of the stage running (or the last one run, once ended). */
  current: z.number().int().nonnegative(),
  stages: z.array(stageStateSchema),
  endReason: z.enum(PIPELINE_END_REASONS).nullable(),
  /** The stage that ended it `Errored`. */
  failedStage: z.string().nullable(),
  error: z.string().nullable(),
  event: pipelineEventSchema.nullable(),
  /** While an end's event is unpublished: when the sweeper should try it (lease end or backoff). */
  eventRetryAt: timestamp.nullable(),
  createdAt: timestamp,
  updatedAt: timestamp,
  endedAt: timestamp.nullable(),
});
export type PipelineDoc = z.infer<typeof pipelineDocSchema>;

function parsePipeline(store: Store, snapshot: DocumentSnapshot): PipelineDoc | undefined {
  if (!snapshot.exists) return undefined;
  const doc = parseDocument(pipelineDocSchema, snapshot);
  // A tenant-scoped store sees its own tenant's pipelines only.
  if (store.tenant !== null && doc.tenant !== store.tenant) return undefined;
  return doc;
}

/** The pipeline, or undefined when it does not exist (or belongs to another tenant than the store's). */
export async function findPipeline(store: Store, pipelineId: string): Promise<PipelineDoc | undefined> {
  return parsePipeline(store, await store.collections.pipeline(pipelineId).get());
}

/** Creates a pipeline; when one with its id exists (same idempotency key) returns that one instead. */
export async function createPipeline(
  store: Store,
  doc: PipelineDoc,
): Promise<{ created: boolean; pipeline: PipelineDoc }> {
  const ref = store.collections.pipeline(doc.id);
  return store.firestore.runTransaction(async (tx) => {
    const existing = await tx.get(ref);
    if (existing.exists) {
      const pipeline = parsePipeline(store, existing);
      if (!pipeline)
        throw new E11Error(ErrorCode.UnknownPipeline, `Pipeline ${doc.id} belongs to another tenant.`);
      return { created: false, pipeline };
    }
    tx.create(ref, doc);
    return { created: true, pipeline: doc };
  });
}

/** How a pipeline's epoch ends. */
export interface PipelineEnd {
  status: Exclude<PipelineStatus, 'InProgress'>;
  reason: PipelineEndReason | null;
  failedStage?: string | null;
  error?: string | null;
}

/** What a transition that ended the pipeline hands its caller: the holder of the event's publish lease. */
export interface EndedPipeline {
  pipeline: PipelineDoc;
  holder: string;
}

function endFields(store: Store, pipeline: PipelineDoc, end: PipelineEnd, leaseMs: number) {
  const at = now(store);
  const leaseUntil = Timestamp.fromMillis(at.toMillis() + leaseMs);
  const holder = randomUUID();
  const fields = {
    status: end.status,
    endReason: end.reason,
    failedStage: end.failedStage ?? null,
    error: end.error ?? null,
    endedAt: at,
    updatedAt: at,
    eventRetryAt: leaseUntil,
    event: {
      epoch: pipeline.epoch,
      eventId: `${pipeline.id}:${pipeline.epoch}`,
      published: false,
      publishAttempts: 0,
      messageId: null,
      lastPublishError: null,
      leaseUntil,
      leaseHolder: holder,
      publishedAt: null,
    },
  } satisfies Partial<PipelineDoc>;
  return { fields, holder };
}

/** The pipeline in `tx`; `E11_UNKNOWN_PIPELINE` when it does not exist (or is another tenant's). */
async function readOrThrow(tx: Transaction, store: Store, pipelineId: string): Promise<PipelineDoc> {
  const pipeline = parsePipeline(store, await tx.get(store.collections.pipeline(pipelineId)));
  if (!pipeline) {
    throw new E11Error(ErrorCode.UnknownPipeline, `No pipeline ${pipelineId}.`, { context: { pipelineId } });
  }
  return pipeline;
}

/** Reads the pipeline in `tx` and checks it is still at `stage` of `epoch`, running. */
async function readAt(
  tx: Transaction,
  store: Store,
  at: { pipelineId: string; epoch: number; stage: number },
): Promise<PipelineDoc | undefined> {
  const pipeline = parsePipeline(store, await tx.get(store.collections.pipeline(at.pipelineId)));
  if (!pipeline || pipeline.status !== 'InProgress' || pipeline.epoch !== at.epoch) return undefined;
  if (pipeline.current !== at.stage || pipeline.stages[at.stage]?.status !== 'InProgress') return undefined;
  return pipeline;
}

/**
 * The transition at the end of stage `stage`, exactly once: in one transaction, if the pipeline is still
 * running that stage in that epoch, records the stage's end and either moves to the next stage or ends
 * the pipeline (`end`). Returns what it did; `stale` when another caller already moved it (or it was
 * cancelled).
 */
export async function finishStage(
  store: Store,
  at: { pipelineId: string; epoch: number; stage: number },
  outcome: {
    status: StageStatus;
    counts: StageState['counts'];
    /** End the pipeline; without it the next stage starts (or, after the last one, it ends Completed). */
    end?: PipelineEnd;
    leaseMs: number;
  },
): Promise<
  { outcome: 'stale' } | { outcome: 'next'; pipeline: PipelineDoc } | ({ outcome: 'ended' } & EndedPipeline)
> {
  return store.firestore.runTransaction(async (tx) => {
    const pipeline = await readAt(tx, store, at);
    if (!pipeline) return { outcome: 'stale' as const };
    const time = now(store);
    const stages = pipeline.stages.map((stage) => ({ ...stage }));
    const stage = stages[at.stage] as StageState;
    stage.status = outcome.status;
    stage.counts = outcome.counts;
    stage.endedAt = time;
    const next = stages[at.stage + 1];
    const end: PipelineEnd | undefined =
      outcome.end ?? (next === undefined ? { status: 'Completed', reason: null } : undefined);
    if (end === undefined && next !== undefined) {
      next.status = 'InProgress';
      next.startedAt = time;
      const moved = { stages, current: at.stage + 1, updatedAt: time };
      tx.update(store.collections.pipeline(pipeline.id), moved);
      return { outcome: 'next' as const, pipeline: { ...pipeline, ...moved } };
    }
    const { fields, holder } = endFields(store, pipeline, end as PipelineEnd, outcome.leaseMs);
    tx.update(store.collections.pipeline(pipeline.id), { ...fields, stages });
    return { outcome: 'ended' as const, pipeline: { ...pipeline, ...fields, stages }, holder };
  });
}

/**
 * Cancels a running pipeline: it ends `Cancelled` (reason `cancelled`) at once, the stage running is
 * marked `Cancelled`. Returns the ended pipeline (its event is the caller's to publish), or undefined
 * when it had already ended.
 */
export async function cancelPipelineDoc(
  store: Store,
  pipelineId: string,
  leaseMs: number,
): Promise<EndedPipeline | undefined> {
  return store.firestore.runTransaction(async (tx) => {
    const pipeline = await readOrThrow(tx, store, pipelineId);
    if (pipeline.status !== 'InProgress') return undefined;
    const stages = pipeline.stages.map((stage, index) =>
      index === pipeline.current && stage.status === 'InProgress'
        ? { ...stage, status: 'Cancelled' as const, endedAt: now(store) }
        : stage,
    );
    const { fields, holder } = endFields(
      store,
      pipeline,
      { status: 'Cancelled', reason: 'cancelled' },
      leaseMs,
    );
    tx.update(store.collections.pipeline(pipelineId), { ...fields, stages });
    return { pipeline: { ...pipeline, ...fields, stages }, holder };
  });
}

/**
 * Resumes an ended pipeline (`Errored` or `Cancelled`) from the stage it stopped at, in a new epoch.
 * Refused with `E11_INVALID_STATE` while it runs, once it completed, or while its last end's event is
 * not published yet (retryable).
 */
export async function reopenPipeline(store: Store, pipelineId: string): Promise<PipelineDoc> {
  return store.firestore.runTransaction(async (tx) => {
    const pipeline = await readOrThrow(tx, store, pipelineId);
    if (pipeline.status === 'InProgress' || pipeline.status === 'Completed') {
      throw new E11Error(
        ErrorCode.InvalidState,
        `Pipeline ${pipelineId} is ${pipeline.status}: only an Errored or Cancelled pipeline can be retried.`,
        { context: { pipelineId } },
      );
    }
    if (pipeline.event !== null && !pipeline.event.published) {
      throw new E11Error(
        ErrorCode.InvalidState,
        `Pipeline ${pipelineId}'s end event is not published yet; try again shortly.`,
        { retryable: true, context: { pipelineId } },
      );
    }
    const at = now(store);
    const stages = pipeline.stages.map((stage, index) =>
      index === pipeline.current ? { ...stage, status: 'InProgress' as const, endedAt: null } : stage,
    );
    const reopened = {
      status: 'InProgress' as const,
      epoch: pipeline.epoch + 1,
      stages,
      endReason: null,
      failedStage: null,
      error: null,
      endedAt: null,
      updatedAt: at,
    };
    tx.update(store.collections.pipeline(pipelineId), reopened);
    return { ...pipeline, ...reopened };
  });
}

/**
 * Takes the publish lease of an ended pipeline's unpublished event whose lease expired, for a new
 * holder. Returns the pipeline and holder, or undefined (published, or someone else holds the lease).
 */
export async function acquirePipelineLease(
  store: Store,
  pipelineId: string,
  leaseMs: number,
): Promise<EndedPipeline | undefined> {
  return store.firestore.runTransaction(async (tx) => {
    const pipeline = parsePipeline(store, await tx.get(store.collections.pipeline(pipelineId)));
    const event = pipeline?.event;
    if (!pipeline || !event || event.published) return undefined;
    const at = now(store);
    if (event.leaseUntil !== null && event.leaseUntil.toMillis() > at.toMillis()) return undefined;
    const leaseUntil = Timestamp.fromMillis(at.toMillis() + leaseMs);
    const holder = randomUUID();
    tx.update(store.collections.pipeline(pipelineId), {
      'event.leaseUntil': leaseUntil,
      'event.leaseHolder': holder,
      eventRetryAt: leaseUntil,
    });
    return { pipeline: { ...pipeline, event: { ...event, leaseUntil, leaseHolder: holder } }, holder };
  });
}

/**
 * Records the publish of epoch `epoch`'s event. Idempotent: when it is already recorded (a publisher
 * that outlived its lease and the one that took over both published) the first record stays.
 */
export async function markPipelineEventPublished(
  store: Store,
  input: { pipelineId: string; epoch: number; messageId: string },
): Promise<void> {
  await store.firestore.runTransaction(async (tx) => {
    const pipeline = parsePipeline(store, await tx.get(store.collections.pipeline(input.pipelineId)));
    const event = pipeline?.event;
    if (!pipeline || !event || event.epoch !== input.epoch) return;
    const ref = store.collections.pipeline(input.pipelineId);
    if (event.published) {
      tx.update(ref, { 'event.publishAttempts': FieldValue.increment(1) });
      return;
    }
    tx.update(ref, {
      'event.published': true,
      'event.messageId': input.messageId,
      'event.publishedAt': now(store),
      'event.publishAttempts': FieldValue.increment(1),
      'event.leaseUntil': null,
      'event.leaseHolder': null,
      eventRetryAt: null,
    });
  });
}

/**
 * Records a failed publish. Only while `holder` still holds the lease does it release it (a redelivery
 * may publish at once) and move `eventRetryAt` back by the publish backoff.
 */
export async function recordPipelinePublishFailure(
  store: Store,
  input: { pipelineId: string; epoch: number; holder: string; error: string },
): Promise<void> {
  await store.firestore.runTransaction(async (tx) => {
    const pipeline = parsePipeline(store, await tx.get(store.collections.pipeline(input.pipelineId)));
    const event = pipeline?.event;
    if (!pipeline || !event || event.epoch !== input.epoch) return;
    const ref = store.collections.pipeline(input.pipelineId);
    const record = {
      'event.lastPublishError': input.error.slice(0, 1_000),
      'event.publishAttempts': FieldValue.increment(1),
    };
    if (event.published || event.leaseHolder !== input.holder) {
      tx.update(ref, record);
      return;
    }
    const retryAt = now(store).toMillis() + publishBackoffMs(event.publishAttempts + 1);
    tx.update(ref, {
      ...record,
      'event.leaseUntil': null,
      'event.leaseHolder': null,
      eventRetryAt: Timestamp.fromMillis(retryAt),
    });
  });
}

/** Ends a running pipeline at `stage` without finishing the stage (its params failed, or the definition changed). */
export async function failPipeline(
  store: Store,
  at: { pipelineId: string; epoch: number; stage: number },
  end: PipelineEnd & { stageStatus: StageStatus },
  leaseMs: number,
): Promise<EndedPipeline | undefined> {
  return store.firestore.runTransaction(async (tx) => {
    const pipeline = await readAt(tx, store, at);
    if (!pipeline) return undefined;
    const stages = pipeline.stages.map((stage, index) =>
      index === at.stage ? { ...stage, status: end.stageStatus, endedAt: now(store) } : stage,
    );
    const { fields, holder } = endFields(store, pipeline, end, leaseMs);
    tx.update(store.collections.pipeline(pipeline.id), { ...fields, stages });
    return { pipeline: { ...pipeline, ...fields, stages }, holder };
  });
}
