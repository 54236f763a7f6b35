import {
  DEFAULTS,
  E11Error,
  ErrorCode,
  type OrchestrationDoc,
  orchestrationDocSchema,
  parseDocument,
  JobStatus,
  type Store,
} from '@e11/core';
import PQueue from 'p-queue';

import { withCounts } from './list-orchestrations.js';
import { type DurationStats, durationStats } from './percentiles.js';

/** Options of {@link OrchestrationService.getMetrics}. Every field is optional. */
export interface MetricsOptions {
  /** Only this job name. */
  jobName?: string;
  /** Orchestrations created after this instant. @default now - DEFAULTS.metricsWindowMs (one day) */
  since?: Date;
  /** Orchestrations read at most, newest first. @default DEFAULTS.metricsMaxOrchestrations */
  maxOrchestrations?: number;
  /** Completed jobs sampled per job name for the duration percentiles. @default DEFAULTS.metricsDurationSamples */
  durationSamples?: number;
}

/** Metrics of one job name over the window. */
export interface JobNameMetrics {
  jobName: string;
  /** Orchestrations in the window. */
  orchestrations: number;
  /** Jobs kicked off (every parameter set). */
  dispatched: number;
  completed: number;
  /** Jobs that ended `Errored`. */
  failed: number;
  cancelled: number;
  /** Jobs that needed more than one attempt (in-task retries, crash relaunches, retryFailed). */
  retried: number;
  /** Jobs waiting to start (`Pending`). */
  queueDepth: number;
  /** Jobs running now (`InProgress`). */
  running: number;
  /** Wall time from first start to finish of completed jobs (a sample of the newest); null without any. */
  durationMs: DurationStats | null;
}

/** What {@link OrchestrationService.getMetrics} returns. */
export interface MetricsReport {
  since: Date;
  generatedAt: Date;
  /** Orchestrations the report is computed from. */
  orchestrations: number;
  /** True when `maxOrchestrations` was reached: older orchestrations in the window are not counted. */
  truncated: boolean;
  /** Per job name. */
  jobs: Record<string, JobNameMetrics>;
}

function positiveInt(value: number, path: string): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new E11Error(
      ErrorCode.InvalidOptions,
      `${path} must be a positive integer, got ${String(value)}.`,
      { context: { path } },
    );
  }
  return value;
}

/**
 * Per job name: jobs dispatched, completed, failed, cancelled, retried, waiting (`Pending`, the queue
 * depth) and running, and duration percentiles — computed from the store, nothing kept elsewhere.
 *
 * Cost: one query over the orchestrations in the window (one read each, at most `maxOrchestrations`);
 * for each unfinished one a `sum()` aggregation over its counter shards (ended ones carry final
 * counts); for each one a `count()` aggregation of its jobs with more than one attempt; and up to
 * `durationSamples` job reads per job name (only `startedAt` and `finishedAt` are fetched), taken
 * from the newest orchestrations first.
 */
export async function getMetrics(store: Store, options: MetricsOptions = {}): Promise<MetricsReport> {
  const generatedAt = new Date(store.clock.now());
  const since = options.since ?? new Date(generatedAt.getTime() - DEFAULTS.metricsWindowMs);
  if (!(since instanceof Date) || !Number.isFinite(since.getTime())) {
    throw new E11Error(ErrorCode.InvalidOptions, 'since must be a valid Date.', {
      context: { path: 'since' },
    });
  }
  const maxOrchestrations = positiveInt(
    options.maxOrchestrations ?? DEFAULTS.metricsMaxOrchestrations,
    'maxOrchestrations',
  );
  const durationSamples = positiveInt(
    options.durationSamples ?? DEFAULTS.metricsDurationSamples,
    'durationSamples',
  );

  let query = store.collections.orchestrations().where('createdAt', '>', since);
  if (store.tenant !== null) query = query.where('tenant', '==', store.tenant);
  if (options.jobName !== undefined) query = query.where('jobName', '==', options.jobName);
  const snapshot = await query
    .orderBy('createdAt', 'desc')
    .limit(maxOrchestrations + 1)
    .get();
  const docs = snapshot.docs
    .slice(0, maxOrchestrations)
    .map((doc) => parseDocument(orchestrationDocSchema, doc));
  const infos = await withCounts(store, docs, true);

  const queue = new PQueue({ concurrency: 16 });
  const retried = await Promise.all(
    docs.map((doc) =>
      queue.add(async () => {
        const count = await store.collections.jobs(doc.id).where('attempt', '>', 1).count().get();
        return count.data().count;
      }),
    ),
  );

  const jobs: Record<string, JobNameMetrics> = {};
  const byName = new Map<string, OrchestrationDoc[]>();
  infos.forEach((info, i) => {
    const metrics = (jobs[info.jobName] ??= {
      jobName: info.jobName,
      orchestrations: 0,
      dispatched: 0,
      completed: 0,
      failed: 0,
      cancelled: 0,
      retried: 0,
      queueDepth: 0,
      running: 0,
      durationMs: null,
    });
    metrics.orchestrations++;
    metrics.dispatched += info.total;
    metrics.completed += info.counts.completed;
    metrics.failed += info.counts.errored;
    metrics.cancelled += info.counts.cancelled;
    metrics.queueDepth += info.counts.pending;
    metrics.running += info.counts.inProgress;
    metrics.retried += retried[i] ?? 0;
    const doc = docs[i];
    if (doc && info.counts.completed > 0)
      byName.set(info.jobName, [...(byName.get(info.jobName) ?? []), doc]);
  });

  await Promise.all(
    [...byName].map(async ([jobName, orchestrations]) => {
      const metrics = jobs[jobName];
      if (metrics)
        metrics.durationMs = durationStats(await sampleDurations(store, orchestrations, durationSamples));
    }),
  );
  return {
    since,
    generatedAt,
    orchestrations: docs.length,
    truncated: snapshot.size > maxOrchestrations,
    jobs,
  };
}

/** Durations of up to `limit` completed jobs, newest orchestrations first. */
async function sampleDurations(
  store: Store,
  orchestrations: readonly OrchestrationDoc[],
  limit: number,
): Promise<number[]> {
  const durations: number[] = [];
  for (const orchestration of orchestrations) {
    if (durations.length >= limit) break;
    const page = await store.collections
      .jobs(orchestration.id)
      .where('status', '==', JobStatus.Completed)
      .select('startedAt', 'finishedAt')
      .limit(limit - durations.length)
      .get();
    for (const doc of page.docs) {
      const startedAt = doc.get('startedAt') as { toMillis(): number } | null;
      const finishedAt = doc.get('finishedAt') as { toMillis(): number } | null;
      if (startedAt && finishedAt) durations.push(Math.max(0, finishedAt.toMillis() - startedAt.toMillis()));
    }
  }
  return durations;
}
