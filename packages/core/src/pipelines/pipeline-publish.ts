import type { PipelineContext } from './pipeline-context.js';
import { buildPipelineCompletedEvent, toPipelineMessage } from './pipeline-event.js';
import {
  acquirePipelineLease,
  type EndedPipeline,
  markPipelineEventPublished,
  type PipelineDoc,
  recordPipelinePublishFailure,
} from './pipeline-store.js';

/** Publishes the event of a pipeline end this caller recorded (it holds the lease). */
export async function publishEnded(
  context: PipelineContext,
  ended: EndedPipeline | undefined,
): Promise<void> {
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
export async function publishOwed(context: PipelineContext, pipeline: PipelineDoc): Promise<void> {
  if (pipeline.event === null || pipeline.event.published) return;
  await publishEnded(context, await acquirePipelineLease(context.store, pipeline.id, context.leaseMs));
}
