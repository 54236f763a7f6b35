import type { EventPublisher } from '../completion/event-publisher.js';
import type { Logger } from '../logging.js';
import type { JobParams } from '../model/json.js';
import type { KickOffResult } from '../orchestration/kick-off.js';
import type { KickOffOptions } from '../orchestration/options.js';
import type { Store } from '../store/store.js';

import type { PipelineRegistry, PipelineStage, StageJob } from './definition.js';
import type { PipelineDoc } from './pipeline-store.js';

/** The pipeline of a stage orchestration, as its document records it. */
export interface PipelineStageRef {
  pipelineId: string;
  stage: number;
}

/** What a stage kick-off, cancel and retry go through: an engine acting for the pipeline's tenant. */
export interface StageEngine {
  kickOffStage(
    job: StageJob,
    params: readonly JobParams[],
    options: KickOffOptions,
    pipeline: PipelineStageRef,
  ): Promise<KickOffResult>;
  /** The sensitive keys the job class registered under `job` declares (the `jobs` option); [] for others. */
  declaredSensitiveKeys(job: StageJob): readonly string[];
  /** Checks a stage's kick-off as `kickOffJob` would (params, options, topic), writing nothing. */
  validateStage(job: StageJob, params: readonly JobParams[], options: KickOffOptions): Promise<void>;
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

/** The idempotency key of a stage's kick-off: one orchestration per pipeline and stage, whoever kicks it off. */
export function stageIdempotencyKey(pipelineId: string, stage: number): string {
  return `e11-pipeline:${pipelineId}:${stage}`;
}

/** The kick-off options of a pipeline's stage `index`: the stage's own, plus the pipeline's tags, topic and sensitive keys. */
export function stageKickOffOptions(
  pipeline: Pick<PipelineDoc, 'id' | 'tags' | 'topic' | 'sensitiveKeys'>,
  stage: Pick<PipelineStage, 'options'>,
  index: number,
): KickOffOptions {
  return {
    ...stage.options,
    tags: pipeline.tags,
    topic: pipeline.topic,
    sensitiveKeys: pipeline.sensitiveKeys,
    idempotencyKey: stageIdempotencyKey(pipeline.id, index),
  };
}
