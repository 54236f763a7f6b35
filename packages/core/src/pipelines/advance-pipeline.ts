import { E11Error, ErrorCode } from '../errors.js';
import type { OrchestrationDoc } from '../model/documents.js';
import type { JobParams, JsonValue } from '../model/json.js';
import { hasEnded, type StatusCounts } from '../model/status.js';
import { createRedactor } from '../monitoring/redact.js';
import { partitionResults, readAllJobs } from '../orchestration/results.js';
import { findOrchestration } from '../store/orchestration-docs.js';
import type { Store } from '../store/store.js';

import type { PipelineDefinition, PreviousStage } from './definition.js';
import { type PipelineContext, stageKickOffOptions } from './pipeline-context.js';
import { publishEnded, publishOwed } from './pipeline-publish.js';
import {
  failPipeline,
  finishStage,
  findPipeline,
  type PipelineDoc,
  type PipelineEnd,
  type StageState,
  type StageStatus,
} from './pipeline-store.js';

/** Runs stage `index`'s params function; a throw or a result that is not an array is an `E11_INVALID_PARAMS`. */
export async function runParams(
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

/** What one `advancePipeline` call found or did. */
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
          stageKickOffOptions(pipeline, stageDefinition, stage),
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
export async function cancelStage(context: PipelineContext, pipeline: PipelineDoc): Promise<void> {
  const state = pipeline.stages[pipeline.current];
  if (!state) return;
  const orchestration = await findOrchestration(context.store, state.orchestrationId);
  if (!orchestration || hasEnded(orchestration)) return;
  await context.engineFor(pipeline.tenant).cancel(state.orchestrationId);
}
