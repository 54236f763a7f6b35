import {
  E11Error,
  ErrorCode,
  type JobErrorInfo,
  type OrchestrationDoc,
  type JobParams,
  parseJobDocument,
  JobStatus,
  loadOrchestration,
  type Store,
  redactJob,
} from '@e11/core';
import PQueue from 'p-queue';

import { queryOrchestrations } from './list-orchestrations.js';
import { assertOrchestrationId } from './monitoring-errors.js';

/** Options of {@link OrchestrationService.listDeadLetters}. Every field is optional. */
export interface DeadLetterOptions {
  /** Only this orchestration (`E11_UNKNOWN_ORCHESTRATION` if it does not exist). */
  orchestrationId?: string;
  /** Only orchestrations of this job name. */
  jobName?: string;
  /** Entries returned at most. @default 100 */
  limit?: number;
  /** Without an orchestration id: the newest unfinished or failed orchestrations examined. @default 50 */
  scan?: number;
}

/** A dead-lettered job: its retries are exhausted and nobody has retried or discarded it yet. */
export interface DeadLetter {
  orchestrationId: string;
  jobId: string;
  jobName: string;
  index: number;
  /** Its params, with the orchestration's `sensitiveKeys` shown as `[REDACTED]` (their values redacted from `error` too). */
  params: JobParams;
  error: JobErrorInfo | null;
  attempts: number;
  finishedAt: Date | null;
}

/**
 * The dead-letter list: jobs with `deadLettered` and not `discarded`, of one orchestration or of the
 * newest orchestrations still running or ended `Errored`. One query per orchestration examined
 * (equality filters only, served by single-field indexes).
 */
export async function listDeadLetters(store: Store, options: DeadLetterOptions = {}): Promise<DeadLetter[]> {
  const limit = options.limit ?? 100;
  const scan = options.scan ?? 50;
  for (const [path, value] of [
    ['limit', limit],
    ['scan', scan],
  ] as const) {
    if (!Number.isInteger(value) || value < 1 || value > 500) {
      throw new E11Error(
        ErrorCode.InvalidOptions,
        `${path} must be an integer from 1 to 500, got ${String(value)}.`,
        {
          context: { path },
        },
      );
    }
  }
  let orchestrations: Pick<OrchestrationDoc, 'id' | 'sensitiveKeys'>[];
  if (options.orchestrationId !== undefined) {
    assertOrchestrationId(options.orchestrationId);
    orchestrations = [await loadOrchestration(store, options.orchestrationId)];
  } else {
    const page = await queryOrchestrations(store, {
      jobName: options.jobName,
      status: [JobStatus.InProgress, JobStatus.Errored],
      limit: scan,
    });
    orchestrations = page.docs;
  }
  const queue = new PQueue({ concurrency: 8 });
  const lists = await Promise.all(
    orchestrations.map((orchestration) =>
      queue.add(async () => {
        const snapshot = await store.collections
          .jobs(orchestration.id)
          .where('deadLettered', '==', true)
          .get();
        // `discarded` is written only when a job is discarded, so it is filtered here, not in the query.
        return snapshot.docs
          .map((doc) => redactJob(parseJobDocument(doc), orchestration.sensitiveKeys))
          .filter((job) => !job.discarded)
          .sort((a, b) => a.index - b.index)
          .slice(0, limit)
          .map((job): DeadLetter => ({
            orchestrationId: job.orchestrationId,
            jobId: job.id,
            jobName: job.jobName,
            index: job.index,
            params: job.params as JobParams,
            error: job.error,
            attempts: job.attempt,
            finishedAt: job.finishedAt?.toDate() ?? null,
          }));
      }),
    ),
  );
  return lists.flat().slice(0, limit);
}
