import { E11Error, ErrorCode } from '../errors.js';
import type { JsonValue } from '../model/json.js';
import { parseDocument } from '../model/parse.js';
import type { StatusCounts } from '../model/status.js';
import { redactParams } from '../monitoring/redact.js';
import type { Store } from '../store/store.js';

import { isDocumentId } from '../validate/document-id.js';

import {
  findPipeline,
  PIPELINE_STATUSES,
  type PipelineDoc,
  type PipelineEndReason,
  pipelineDocSchema,
  type PipelineStatus,
  type StageStatus,
} from './pipeline-store.js';

/** One stage of a pipeline as `getPipeline` shows it. */
export interface PipelineStageInfo {
  name: string;
  job: string;
  onFailure: 'fail' | 'continue' | 'ignore-failures';
  status: StageStatus;
  /** Its orchestration's id (derived from the pipeline and the stage): open it with getOrchestration. */
  orchestrationId: string;
  /** Whether the stage kicked its orchestration off (it started, and its params did not fail). */
  hasOrchestration: boolean;
  /** Its orchestration's counts at its end; null until then. */
  counts: StatusCounts | null;
  startedAt: Date | null;
  endedAt: Date | null;
}

/** A pipeline as `getPipeline` and `watchPipeline` show it (input redacted with its sensitive keys). */
export interface PipelineInfo {
  pipelineId: string;
  name: string;
  status: PipelineStatus;
  epoch: number;
  /** The stage running, or the last one run once ended. */
  currentStage: string;
  stages: PipelineStageInfo[];
  input: JsonValue;
  tags: Record<string, string>;
  tenant: string | null;
  topic: string;
  endReason: PipelineEndReason | null;
  failedStage: string | null;
  error: string | null;
  /** The last end's event: its id, and whether it is published. */
  event: { eventId: string; published: boolean; messageId: string | null } | null;
  createdAt: Date;
  updatedAt: Date;
  endedAt: Date | null;
}

/** The view of a pipeline document. */
export function toPipelineInfo(doc: PipelineDoc): PipelineInfo {
  return {
    pipelineId: doc.id,
    name: doc.name,
    status: doc.status,
    epoch: doc.epoch,
    currentStage: doc.stages[doc.current]?.name ?? '',
    stages: doc.stages.map((stage) => ({
      name: stage.name,
      job: stage.job,
      onFailure: stage.onFailure,
      status: stage.status,
      orchestrationId: stage.orchestrationId,
      hasOrchestration:
        stage.status !== 'Waiting' &&
        stage.status !== 'Skipped' &&
        !(doc.endReason === 'paramsFailed' && doc.failedStage === stage.name),
      counts: stage.counts,
      startedAt: stage.startedAt?.toDate() ?? null,
      endedAt: stage.endedAt?.toDate() ?? null,
    })),
    input: redactParams(JSON.parse(doc.input) as JsonValue, doc.sensitiveKeys),
    tags: { ...doc.tags },
    tenant: doc.tenant,
    topic: doc.topic,
    endReason: doc.endReason,
    failedStage: doc.failedStage,
    error: doc.error,
    event:
      doc.event === null
        ? null
        : { eventId: doc.event.eventId, published: doc.event.published, messageId: doc.event.messageId },
    createdAt: doc.createdAt.toDate(),
    updatedAt: doc.updatedAt.toDate(),
    endedAt: doc.endedAt?.toDate() ?? null,
  };
}

/** `E11_UNKNOWN_PIPELINE` for an id that cannot name a document (it names no pipeline). */
export function assertPipelineId(pipelineId: unknown): asserts pipelineId is string {
  if (isDocumentId(pipelineId)) return;
  throw new E11Error(
    ErrorCode.UnknownPipeline,
    `Pipeline ${JSON.stringify(String(pipelineId)).slice(0, 80)} does not exist (not a valid id).`,
    {
      context: { pipelineId: String(pipelineId), reason: 'invalid-id' },
    },
  );
}

/** A pipeline's view; `E11_UNKNOWN_PIPELINE` when it does not exist or belongs to another tenant. */
export async function getPipelineInfo(store: Store, pipelineId: string): Promise<PipelineInfo> {
  assertPipelineId(pipelineId);
  const doc = await findPipeline(store, pipelineId);
  if (!doc) {
    throw new E11Error(ErrorCode.UnknownPipeline, `No pipeline ${pipelineId}.`, { context: { pipelineId } });
  }
  return toPipelineInfo(doc);
}

/**
 * The most recent pipelines (of the store's tenant when scoped), newest first: `limit` 1-500 (default
 * 50), `status` one of {@link PIPELINE_STATUSES}; `E11_INVALID_OPTIONS` naming the option otherwise.
 */
export async function listPipelineInfos(
  store: Store,
  options: { limit?: number; status?: PipelineStatus } = {},
): Promise<PipelineInfo[]> {
  const { limit, status } = options;
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > 500)) {
    throw new E11Error(
      ErrorCode.InvalidOptions,
      `limit: must be an integer from 1 to 500, got ${String(limit)}.`,
      {
        context: { path: 'limit' },
      },
    );
  }
  if (status !== undefined && !(PIPELINE_STATUSES as readonly string[]).includes(status)) {
    throw new E11Error(
      ErrorCode.InvalidOptions,
      `status: must be one of ${PIPELINE_STATUSES.join(', ')}, got ${JSON.stringify(status)}.`,
      { context: { path: 'status' } },
    );
  }
  let query = store.collections.pipelines().orderBy('createdAt', 'desc');
  if (store.tenant !== null) query = query.where('tenant', '==', store.tenant);
  if (options.status !== undefined) query = query.where('status', '==', options.status);
  const snapshot = await query.limit(limit ?? 50).get();
  return snapshot.docs.map((doc) => toPipelineInfo(parseDocument(pipelineDocSchema, doc)));
}
