import { randomUUID } from 'node:crypto';

import { Timestamp } from '@google-cloud/firestore';
import PQueue from 'p-queue';

import type { EventPublisher } from '../completion/event-publisher.js';
import { E11Error, ErrorCode } from '../errors.js';
import { idempotentOrchestrationId } from '../internal/ids.js';
import type { Logger } from '../logging.js';
import type { OrchestrationDoc } from '../model/documents.js';
import type { JobParams, JsonValue } from '../model/json.js';
import { hasEnded, type StatusCounts } from '../model/status.js';
import { createRedactor } from '../monitoring/redact.js';
import type { KickOffResult } from '../orchestration/kick-off.js';
import type { KickOffOptions } from '../orchestration/options.js';
import { partitionResults, readAllJobs } from '../orchestration/results.js';
import { findOrchestration } from '../store/orchestration-docs.js';
import { now, type Store } from '../store/store.js';
import { validateTags } from '../validate/tags.js';

import type { PipelineDefinition, PipelineRegistry, PreviousStage } from './definition.js';
import { buildPipelineCompletedEvent, toPipelineMessage } from './pipeline-event.js';
import {
  acquirePipelineLease,
  cancelPipelineDoc,
  createPipeline,
  type EndedPipeline,
  failPipeline,
  finishStage,
  findPipeline,
  markPipelineEventPublished,
  type PipelineDoc,
  type PipelineEnd,
  pipelinesCollection,
  type StageState,
  type StageStatus,
  recordPipelinePublishFailure,
  reopenPipeline,
} from './pipeline-store.js';

/** The pipeline of a stage orchestration, as its document records it. */
export interface PipelineStageRef {
  pipelineId: string;
  stage: number;
}

/** What a stage kick-off, cancel and retry go through: an engine acting for the pipeline's tenant. */
export interface StageEngine {
  kickOffStage(
    job: string,
    params: readonly JobParams[],
    options: KickOffOptions,
    pipeline: PipelineStageRef,
  ): Promise<KickOffResult>;
  cancel(orchestrationId: string): Promise<unknown>;
  retryFailed(orchestrationId: string, options: { jobIds?: readonly string[] }): Promise<unknown>;
}

/** What the pipeline operations need of the engine running them. */
export interface PipelineContext {
  store: Store;
  registry: PipelineRegistry;
  publisher: EventPublisher;
  logger: Logger;
  defaultTopic: string;
  /** The engine of a tenant (null: unscoped), for the stages' orchestrations. */
  engineFor(tenant: string | null): StageEngine;
  leaseMs: number;
}

/** Options of `startPipeline`. */
export interface StartPipelineOptions {
  /** Carried to every stage's orchestration and to the PipelineCompletedEvent. */
  tags?: Record<string, string>;
  /** Where the PipelineCompletedEvent and the stages' JobCompletedEvents go. @default the service's default topic */
  topic?: string;
  /** Params (and input) keys never shown in logs, events or views, in every stage. */
  sensitiveKeys?: string[];
  /** The same key (per tenant) returns the pipeline started first instead of a second one. */
  idempotencyKey?: string;
}

/** What `startPipeline` returns. */
export interface StartPipelineResult {
  pipelineId: string;
  /** The first stage's orchestration (null when its params were empty and the stage was skipped). */
  orchestrationId: string | null;
  /** True when the idempotency key matched an earlier start: nothing new was started. */
  deduplicated: boolean;
}

/** The idempotency key of a stage's kick-off: one orchestration per pipeline and stage, whoever kicks it off. */
export function stageIdempotencyKey(pipelineId: string, stage: number): string {
  return `e11-pipeline:${pipelineId}:${stage}`;
}

function stageOrchestrationId(
  store: Store,
  tenant: string | null,
  pipelineId: string,
  stage: number,
): string {
  return idempotentOrchestrationId(store.collections.prefix, tenant, stageIdempotencyKey(pipelineId, stage));
}

/**
 * Starts a pipeline: resolves its registered definition (`E11_UNKNOWN_PIPELINE` for one the service
 * does not know), runs the first stage's `params` on `input` (a throw or bad params fail here, before
 * anything is written), records the pipeline and kicks off its first stage.
 */
export async function startPipeline(
  context: PipelineContext,
  definition: PipelineDefinition | string,
  input: JsonValue,
  options: StartPipelineOptions = {},
): Promise<StartPipelineResult> {
  const { store } = context;
  const known = context.registry.resolve(definition);
  const inputText = JSON.stringify(input);
  if (inputText === undefined) {
    throw new E11Error(ErrorCode.InvalidParams, 'input: must be a JSON value.', {
      context: { path: 'input' },
    });
  }
  if (options.tags !== undefined) validateTags(options.tags);
  const pipelineId =
    options.idempotencyKey === undefined
      ? randomUUID()
      : idempotentOrchestrationId(
          store.collections.prefix,
          store.tenant,
          `e11-pipeline-start:${options.idempotencyKey}`,
        );
  const existing = await findPipeline(store, pipelineId);
  if (existing)
    return { pipelineId, orchestrationId: existing.stages[0]?.orchestrationId ?? null, deduplicated: true };
  const first = await runParams(known, 0, {
    input: JSON.parse(inputText) as JsonValue,
    previous: null,
    pipelineId,
  });
  const at = now(store);
  const tags = store.tenant === null ? { ...options.tags } : { ...options.tags, tenant: store.tenant };
  const doc: PipelineDoc = {
    v: 1,
    id: pipelineId,
    name: known.name,
    fingerprint: known.fingerprint,
    tenant: store.tenant,
    tags,
    topic: options.topic ?? context.defaultTopic,
    sensitiveKeys: [...(options.sensitiveKeys ?? [])],
    idempotencyKey: options.idempotencyKey ?? null,
    input: inputText,
    status: 'InProgress',
    epoch: 1,
    current: 0,
    stages: known.stages.map((stage, index) => ({
      name: stage.name,
      job: stage.job,
      onFailure: stage.onFailure ?? 'fail',
      orchestrationId: stageOrchestrationId(store, store.tenant, pipelineId, index),
      status: index === 0 ? 'InProgress' : 'Waiting',
      counts: null,
      startedAt: index === 0 ? at : null,
      endedAt: null,
    })),
    endReason: null,
    failedStage: null,
    error: null,
    event: null,
    eventRetryAt: null,
    createdAt: at,
    updatedAt: at,
    endedAt: null,
  };
  const created = await createPipeline(store, doc);
  if (!created.created) {
    return {
      pipelineId,
      orchestrationId: created.pipeline.stages[0]?.orchestrationId ?? null,
      deduplicated: true,
    };
  }
  await advancePipeline(context, pipelineId, { firstParams: first });
  return {
    pipelineId,
    orchestrationId: first.length === 0 ? null : (doc.stages[0]?.orchestrationId ?? null),
    deduplicated: false,
  };
}

/** Runs stage `index`'s params function; a throw or a result that is not an array is an `E11_INVALID_PARAMS`. */
async function runParams(
  definition: PipelineDefinition,
  index: number,
  from: Parameters<PipelineDefinition['stages'][number]['params']>[0],
): Promise<readonly JobParams[]> {
  const stage = definition.stages[index];
  if (!stage)
    throw new E11Error(ErrorCode.InvalidOptions, `Pipeline '${definition.name}' has no stage ${index}.`);
  let params: unknown;
  try {
    params = await stage.params(from);
  } catch (error) {
    throw new E11Error(
      ErrorCode.InvalidParams,
      `Stage '${stage.name}' of pipeline '${definition.name}': its params function threw: ${(error as Error)?.message ?? String(error)}`,
      { cause: error, context: { path: `stages[${index}].params` } },
    );
  }
  if (!Array.isArray(params)) {
    throw new E11Error(
      ErrorCode.InvalidParams,
      `Stage '${stage.name}' of pipeline '${definition.name}': its params function must return an array of parameter sets.`,
      { context: { path: `stages[${index}].params` } },
    );
  }
  return params as readonly JobParams[];
}

/** The previous stage's outcome for stage `index` (unredacted: the params function runs here). */
async function previousStage(
  store: Store,
  pipeline: PipelineDoc,
  index: number,
): Promise<PreviousStage | null> {
  const state = pipeline.stages[index - 1];
  if (!state) return null;
  if (state.status === 'Skipped')
    return { stage: state.name, orchestrationId: null, successes: [], failures: [] };
  const [successes, failures] = partitionResults(await readAllJobs(store, state.orchestrationId), []);
  return {
    stage: state.name,
    orchestrationId: state.orchestrationId,
    successes,
    failures: state.onFailure === 'ignore-failures' ? [] : (failures ?? []),
  };
}

/** What one {@link advancePipeline} call found or did. */
export type AdvanceOutcome =
  | { outcome: 'unknown' }
  /** No definition of that name is registered in this process: left for one that has it. */
  | { outcome: 'unregistered' }
  | { outcome: 'running'; stage: number }
  | { outcome: 'ended'; status: PipelineDoc['status'] };

/**
 * Moves a pipeline forward as far as it can go now, safe to call any number of times, concurrently, from
 * any process (the completion function on a stage's end, the sweeper, a retry): a stage's end is
 * recorded once (a transaction on the pipeline at that stage and epoch), the next stage's kick-off is
 * idempotent on (pipeline, stage), and an ended pipeline's event is published under a lease. So a
 * duplicated trigger, a crash between stages or the sweeper racing the trigger never starts a stage
 * twice or skips one.
 */
export async function advancePipeline(
  context: PipelineContext,
  pipelineId: string,
  options: {
    firstParams?: readonly JobParams[];
    /** Wait until every launch of a stage this call kicks off is done (functions, sweeps). @default false */
    awaitLaunch?: boolean;
  } = {},
): Promise<AdvanceOutcome> {
  const { store, logger } = context;
  // Each pass moves at least one stage or returns: a pipeline has at most MAX_STAGES stages.
  for (let pass = 0; ; pass++) {
    const pipeline = await findPipeline(store, pipelineId);
    if (!pipeline) return { outcome: 'unknown' };
    if (pipeline.status !== 'InProgress') {
      await publishOwed(context, pipeline);
      if (pipeline.status === 'Cancelled') await cancelStage(context, pipeline);
      return { outcome: 'ended', status: pipeline.status };
    }
    if (pass > pipeline.stages.length + 1) {
      throw new E11Error(ErrorCode.InvalidState, `Pipeline ${pipelineId} did not settle.`, {
        retryable: true,
      });
    }
    const stage = pipeline.current;
    const at = { pipelineId, epoch: pipeline.epoch, stage };
    const state = pipeline.stages[stage] as StageState;
    // A stage that runs needs no definition: only a transition (start or end of a stage) does.
    const orchestration = await findOrchestration(store, state.orchestrationId);
    if (orchestration && !hasEnded(orchestration)) return { outcome: 'running', stage };
    const definition = context.registry.get(pipeline.name);
    if (!definition) {
      logger.error(
        { pipelineId, pipeline: pipeline.name, code: ErrorCode.UnknownPipeline },
        `Pipeline '${pipeline.name}' is not registered in this process (E11_PIPELINES_MODULE): it cannot advance here.`,
      );
      return { outcome: 'unregistered' };
    }
    const stageDefinition = definition.stages[stage];
    if (definition.fingerprint !== pipeline.fingerprint || !stageDefinition) {
      const end: PipelineEnd = {
        status: 'Errored',
        reason: 'definitionChanged',
        failedStage: state.name,
        error: `The registered pipeline '${pipeline.name}' has another shape (stages, jobs or failure modes) than the one this pipeline started with.`,
      };
      const ended = orchestration
        ? await finishStage(store, at, { ...stageEnd(orchestration), end, leaseMs: context.leaseMs })
        : await failPipeline(store, at, { ...end, stageStatus: 'Cancelled' }, context.leaseMs);
      if (ended && 'holder' in ended) await publishEnded(context, ended);
      continue;
    }
    if (!orchestration) {
      let params: readonly JobParams[];
      try {
        params =
          stage === 0 && options.firstParams !== undefined
            ? options.firstParams
            : await runParams(definition, stage, {
                input: JSON.parse(pipeline.input) as JsonValue,
                previous: await previousStage(store, pipeline, stage),
                pipelineId,
              });
      } catch (error) {
        if (!(error instanceof E11Error) || error.code !== ErrorCode.InvalidParams) throw error;
        await failParams(context, pipeline, stage, error);
        continue;
      }
      if (params.length === 0) {
        const skipped = await finishStage(store, at, {
          status: 'Skipped',
          counts: null,
          leaseMs: context.leaseMs,
        });
        if (skipped.outcome === 'ended') await publishEnded(context, skipped);
        continue;
      }
      const engine = context.engineFor(pipeline.tenant);
      try {
        const kickedOff = await engine.kickOffStage(
          stageDefinition.job,
          params,
          {
            ...stageDefinition.options,
            tags: pipeline.tags,
            topic: pipeline.topic,
            sensitiveKeys: pipeline.sensitiveKeys,
            idempotencyKey: stageIdempotencyKey(pipelineId, stage),
          },
          { pipelineId, stage },
        );
        // In a function or a sweep the launch is awaited: work left running after a function answered
        // may never get CPU. (If it dies, the sweeper launches what is left, as for any kick-off.)
        if (options.awaitLaunch === true) await kickedOff.launched;
      } catch (error) {
        // Bad params or options (a stage's own mistake) end the pipeline; anything else is retried. A
        // racing caller's kick-off of this stage (same idempotency key) is not a mistake.
        if (!(error instanceof E11Error) || error.retryable || !isStageMistake(error.code)) throw error;
        if (await findOrchestration(store, state.orchestrationId)) return { outcome: 'running', stage };
        await failParams(context, pipeline, stage, error);
        continue;
      }
      logger.info(
        { pipelineId, stage: state.name, orchestrationId: state.orchestrationId },
        'Started a pipeline stage',
      );
      // Cancelled while this kick-off ran: its cancel may have missed the new orchestration.
      const after = await findPipeline(store, pipelineId);
      if (after?.status === 'Cancelled') await cancelStage(context, after);
      return { outcome: 'running', stage };
    }
    const failed = orchestration.status !== 'Completed';
    const finished = await finishStage(store, at, {
      ...stageEnd(orchestration),
      leaseMs: context.leaseMs,
      ...(failed && state.onFailure === 'fail'
        ? {
            end: {
              status: 'Errored',
              reason: 'stageFailed',
              failedStage: state.name,
              error: `Stage '${state.name}' ended ${orchestration.status}: ${orchestration.counts.errored} failed, ${orchestration.counts.cancelled} cancelled of ${orchestration.total} jobs.`,
            },
          }
        : {}),
    });
    if (finished.outcome === 'ended') await publishEnded(context, finished);
  }
}

/** Ends the pipeline `Errored` (`paramsFailed`) at `stage`, whose params or kick-off were refused, and publishes its event. */
async function failParams(
  context: PipelineContext,
  pipeline: PipelineDoc,
  stage: number,
  error: E11Error,
): Promise<void> {
  const name = pipeline.stages[stage]?.name ?? String(stage);
  const message = redacted(pipeline, error.message);
  context.logger.warn({ pipelineId: pipeline.id, stage: name, err: message }, 'A stage could not start');
  const at = { pipelineId: pipeline.id, epoch: pipeline.epoch, stage };
  const end = { status: 'Errored', reason: 'paramsFailed', failedStage: name, error: message } as const;
  await publishEnded(
    context,
    await failPipeline(context.store, at, { ...end, stageStatus: 'Errored' }, context.leaseMs),
  );
}

/** `text` with the values of the pipeline input's sensitive keys redacted. */
function redacted(pipeline: PipelineDoc, text: string): string {
  return createRedactor(JSON.parse(pipeline.input), pipeline.sensitiveKeys)(text);
}

/** A stage's status and counts from its ended orchestration. */
function stageEnd(orchestration: OrchestrationDoc): { status: StageStatus; counts: StatusCounts } {
  const status = orchestration.status;
  return {
    status: status === 'Completed' || status === 'Cancelled' ? status : 'Errored',
    counts: orchestration.counts,
  };
}

function isStageMistake(code: string): boolean {
  return (
    code === ErrorCode.InvalidParams ||
    code === ErrorCode.InvalidOptions ||
    code === ErrorCode.TooManyJobs ||
    code === ErrorCode.UnknownJobName ||
    code === ErrorCode.InvalidJobName ||
    code === ErrorCode.ValidationFailed
  );
}

/** Cancels the orchestration of a cancelled pipeline's stage, if it exists and runs. */
async function cancelStage(context: PipelineContext, pipeline: PipelineDoc): Promise<void> {
  const state = pipeline.stages[pipeline.current];
  if (!state) return;
  const orchestration = await findOrchestration(context.store, state.orchestrationId);
  if (!orchestration || hasEnded(orchestration)) return;
  await context.engineFor(pipeline.tenant).cancel(state.orchestrationId);
}

/** Publishes the event of a pipeline end this caller recorded (it holds the lease). */
async function publishEnded(context: PipelineContext, ended: EndedPipeline | undefined): Promise<void> {
  if (!ended) return;
  const { pipeline, holder } = ended;
  const event = buildPipelineCompletedEvent(pipeline);
  let messageId: string;
  try {
    messageId = await context.publisher.publish(pipeline.topic, toPipelineMessage(event));
  } catch (error) {
    await recordPipelinePublishFailure(context.store, {
      pipelineId: pipeline.id,
      epoch: event.epoch,
      holder,
      error: error instanceof Error ? error.message : String(error),
    });
    throw error;
  }
  await markPipelineEventPublished(context.store, { pipelineId: pipeline.id, epoch: event.epoch, messageId });
  context.logger.info(
    { pipelineId: pipeline.id, eventId: event.eventId, status: event.status, messageId },
    'Published PipelineCompletedEvent',
  );
}

/** Publishes an ended pipeline's event if it is still owed and no publisher holds its lease. */
async function publishOwed(context: PipelineContext, pipeline: PipelineDoc): Promise<void> {
  if (pipeline.event === null || pipeline.event.published) return;
  await publishEnded(context, await acquirePipelineLease(context.store, pipeline.id, context.leaseMs));
}

/**
 * Cancels a pipeline: it ends `Cancelled` at once with its PipelineCompletedEvent, and its running
 * stage's orchestration is cancelled. Returns false when it had already ended.
 */
export async function cancelPipeline(context: PipelineContext, pipelineId: string): Promise<boolean> {
  const ended = await cancelPipelineDoc(context.store, pipelineId, context.leaseMs);
  if (!ended) return false;
  await cancelStage(context, ended.pipeline);
  await publishEnded(context, ended);
  return true;
}

/**
 * Resumes an `Errored` or `Cancelled` pipeline from the stage it stopped at, in a new epoch: that
 * stage's failed and cancelled jobs run again with their original params (its orchestration's
 * retryFailed), or, when its params failed, its params function runs again. The next end gets its own
 * PipelineCompletedEvent. Returns the new epoch.
 */
export async function retryPipeline(
  context: PipelineContext,
  pipelineId: string,
): Promise<{ epoch: number }> {
  const { store } = context;
  const pipeline = await findPipeline(store, pipelineId);
  if (!pipeline)
    throw new E11Error(ErrorCode.UnknownPipeline, `No pipeline ${pipelineId}.`, { context: { pipelineId } });
  const state = pipeline.stages[pipeline.current];
  if (pipeline.status !== 'InProgress' && state) {
    const orchestration = await findOrchestration(store, state.orchestrationId);
    if (orchestration && hasEnded(orchestration) && orchestration.status !== 'Completed') {
      const [, failures] = partitionResults(await readAllJobs(store, state.orchestrationId), []);
      const jobIds = (failures ?? []).map((failure) => failure.jobId);
      if (jobIds.length > 0)
        await context.engineFor(pipeline.tenant).retryFailed(state.orchestrationId, { jobIds });
    }
  }
  const reopened = await reopenPipeline(store, pipelineId);
  // Without the definition here (an operator's CLI), the completion function or the sweeper advances it.
  if (context.registry.get(reopened.name)) await advancePipeline(context, pipelineId);
  return { epoch: reopened.epoch };
}

/**
 * The sweeper's pass over pipelines: advances every running one (a trigger lost between stages) and
 * publishes the events still owed. Returns how many it looked at.
 */
export async function sweepPipelines(
  context: PipelineContext,
  options: { limit?: number } = {},
): Promise<number> {
  const limit = options.limit ?? 500;
  const [running, owed] = await Promise.all([
    pipelinesCollection(context.store).where('status', '==', 'InProgress').select().limit(limit).get(),
    pipelinesCollection(context.store)
      .where('eventRetryAt', '<=', Timestamp.fromMillis(context.store.clock.now()))
      .orderBy('eventRetryAt')
      .select()
      .limit(limit)
      .get(),
  ]);
  const ids = new Set([...running.docs, ...owed.docs].map((doc) => doc.id));
  const queue = new PQueue({ concurrency: 4 });
  await queue.addAll(
    [...ids].map((pipelineId) => async () => {
      try {
        await advancePipeline(context, pipelineId, { awaitLaunch: true });
      } catch (error) {
        context.logger.warn(
          { pipelineId, err: (error as Error).message },
          'pipeline sweep failed; the next sweep tries again',
        );
      }
    }),
  );
  return ids.size;
}
