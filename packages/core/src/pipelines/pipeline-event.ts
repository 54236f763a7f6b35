import { z } from 'zod';

import { E11Error, ErrorCode } from '../errors.js';
import { eventMessage, parseEventMessage, type PubSubMessage } from '../events/job-completed-event.js';

import { PIPELINE_END_REASONS, type PipelineDoc, STAGE_STATUSES } from './pipeline-store.js';

/** One stage as the PipelineCompletedEvent reports it. */
const stageSummarySchema = z.object({
  name: z.string(),
  job: z.string(),
  status: z.enum(STAGE_STATUSES),
  /** Null for a stage that never ran (skipped, or not reached). */
  orchestrationId: z.string().nullable(),
  total: z.number().int().nonnegative(),
  succeeded: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  cancelled: z.number().int().nonnegative(),
});

/**
 * The message published once per pipeline end on the pipeline's topic (by default the topic of the
 * JobCompletedEvent): `eventId` is `{pipelineId}:{epoch}`, attributes as the JobCompletedEvent's
 * (`type: 'PipelineCompletedEvent'`, `eventId`, `pipelineId`, `pipelineName`, `status`, `epoch`, and the
 * tags). Delivered at least once: de-duplicate on `eventId`.
 */
export const pipelineCompletedEventSchema = z.object({
  type: z.literal('PipelineCompletedEvent'),
  version: z.literal(1),
  eventId: z.string().min(1),
  pipelineId: z.string().min(1),
  pipelineName: z.string().min(1),
  status: z.enum(['Completed', 'Errored', 'Cancelled']),
  reason: z.enum(PIPELINE_END_REASONS).nullable(),
  failedStage: z.string().nullable(),
  error: z.string().nullable(),
  stages: z.array(stageSummarySchema),
  tags: z.record(z.string(), z.string()),
  epoch: z.number().int().positive(),
  createdAt: z.string(),
  completedAt: z.string(),
});
export type PipelineCompletedEvent = z.infer<typeof pipelineCompletedEventSchema>;

/** The event of an ended pipeline's current epoch. */
export function buildPipelineCompletedEvent(pipeline: PipelineDoc): PipelineCompletedEvent {
  const { event, status } = pipeline;
  if (event === null || status === 'InProgress') {
    throw new E11Error(ErrorCode.InvalidEvent, `Pipeline ${pipeline.id} has not ended.`);
  }
  return {
    type: 'PipelineCompletedEvent',
    version: 1,
    eventId: event.eventId,
    pipelineId: pipeline.id,
    pipelineName: pipeline.name,
    status,
    reason: pipeline.endReason,
    failedStage: pipeline.failedStage,
    error: pipeline.error,
    stages: pipeline.stages.map((stage) => ({
      name: stage.name,
      job: stage.job,
      status: stage.status,
      orchestrationId: stage.counts === null ? null : stage.orchestrationId,
      total: stage.counts === null ? 0 : Object.values(stage.counts).reduce((a, b) => a + b, 0),
      succeeded: stage.counts?.completed ?? 0,
      failed: stage.counts?.errored ?? 0,
      cancelled: stage.counts?.cancelled ?? 0,
    })),
    tags: { ...pipeline.tags },
    epoch: event.epoch,
    createdAt: pipeline.createdAt.toDate().toISOString(),
    completedAt: (pipeline.endedAt ?? pipeline.updatedAt).toDate().toISOString(),
  };
}

/** The Pub/Sub message of a {@link PipelineCompletedEvent}. */
export function toPipelineMessage(event: PipelineCompletedEvent): PubSubMessage {
  return eventMessage(event, {
    pipelineId: event.pipelineId,
    pipelineName: event.pipelineName,
    status: event.status,
  });
}

/** Parses a PipelineCompletedEvent message body; `E11_INVALID_EVENT` naming the field otherwise. */
export function parsePipelineCompletedEvent(data: Buffer | string): PipelineCompletedEvent {
  return parseEventMessage(pipelineCompletedEventSchema, 'PipelineCompletedEvent', data);
}
