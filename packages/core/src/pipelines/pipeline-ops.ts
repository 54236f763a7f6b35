import { randomUUID } from 'node:crypto';

import { Timestamp } from '@google-cloud/firestore';
import PQueue from 'p-queue';

import { E11Error, ErrorCode } from '../errors.js';
import { idempotentOrchestrationId } from '../internal/ids.js';
import type { JsonValue } from '../model/json.js';
import { hasEnded } from '../model/status.js';
import { partitionResults, readAllJobs } from '../orchestration/results.js';
import { findOrchestration } from '../store/orchestration-docs.js';
import { now, type Store } from '../store/store.js';
import { validateTags } from '../validate/tags.js';

import { advancePipeline, cancelStage, runParams } from './advance-pipeline.js';
import { type PipelineDefinition, stageJobName } from './definition.js';
import { type PipelineContext, stageIdempotencyKey, stageKickOffOptions } from './pipeline-context.js';
import { publishEnded } from './pipeline-publish.js';
import {
  cancelPipelineDoc,
  createPipeline,
  findPipeline,
  type PipelineDoc,
  reopenPipeline,
} from './pipeline-store.js';

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
  const { sensitiveKeys } = options;
  if (
    sensitiveKeys !== undefined &&
    (!Array.isArray(sensitiveKeys) || !sensitiveKeys.every((k) => typeof k === 'string'))
  ) {
    throw new E11Error(ErrorCode.InvalidOptions, 'sensitiveKeys: must be an array of key names.', {
      context: { path: 'sensitiveKeys' },
    });
  }
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
    // The given keys and those the stages' registered job classes declare: the stored input holds the
    // stages' params, and every read of the pipeline redacts them.
    sensitiveKeys: [
      ...new Set([
        ...(sensitiveKeys ?? []),
        ...known.stages.flatMap((stage) => context.engineFor(store.tenant).declaredSensitiveKeys(stage.job)),
      ]),
    ],
    idempotencyKey: options.idempotencyKey ?? null,
    input: inputText,
    status: 'InProgress',
    epoch: 1,
    current: 0,
    stages: known.stages.map((stage, index) => ({
      name: stage.name,
      job: stageJobName(stage.job),
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
  // The first stage's kick-off is checked as kickOffJob checks one (params, options, the topic exists)
  // before anything is written: bad input fails here, not as a pipeline stuck at its first stage.
  const firstStage = known.stages[0];
  if (first.length > 0 && firstStage) {
    await context
      .engineFor(store.tenant)
      .validateStage(firstStage.job, first, stageKickOffOptions(doc, firstStage, 0));
  }
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
    context.store.collections.pipelines().where('status', '==', 'InProgress').select().limit(limit).get(),
    context.store.collections
      .pipelines()
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
        context.logger.warn({ pipelineId, err: error }, 'pipeline sweep failed; the next sweep tries again');
      }
    }),
  );
  return ids.size;
}
