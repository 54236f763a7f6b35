import { E11Error, ErrorCode } from '../errors.js';
import { type JobDoc, type JobErrorInfo } from '../model/documents.js';
import { type JobParams } from '../model/json.js';
import { parseJobDocument } from '../model/parse.js';
import { JobStatus, type StatusCounts, terminalCount } from '../model/status.js';
import { quietRecheck } from '../monitoring/quiet-recheck.js';
import { redactJob } from '../monitoring/redact.js';
import { readCounts, sumShards } from '../store/counts.js';
import { findOrchestration } from '../store/orchestration-docs.js';
import { type Store } from '../store/store.js';
import { readUnwrittenJobs } from '../store/unwritten-jobs.js';

/** One successful job in `getJobResults`. */
export interface JobSuccess<R = unknown, P = JobParams> {
  jobId: string;
  index: number;
  params: P;
  result: R;
}

/** One failed (or cancelled) job in `getJobResults`, rebuilt with its original params and error context. */
export interface JobFailure<P = JobParams> {
  jobId: string;
  index: number;
  params: P;
  jobName: string;
  orchestrationId: string;
  status: typeof JobStatus.Errored | typeof JobStatus.Cancelled;
  error: Pick<JobErrorInfo, 'message' | 'code'> & Partial<JobErrorInfo>;
  attempts: number;
  deadLettered: boolean;
}

/** `[successes, failures]`, with `null` for failures when nothing failed (a stable contract). */
export type JobResults<R = unknown, P = JobParams> = [JobSuccess<R, P>[], JobFailure<P>[] | null];

/**
 * Resolves with the live counts once every job of the orchestration is terminal, from a real-time
 * listener on its counter shards; after `DEFAULTS.resultsRecheckMs` without a snapshot (the first one
 * included) it reads the counts itself once (and again after each further quiet spell), so a change
 * the listener did not deliver cannot leave it waiting. Rejects with `E11_TIMEOUT` after `timeoutMs`.
 */
export function waitForAllTerminal(
  store: Store,
  orchestrationId: string,
  total: number,
  options: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<StatusCounts> {
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      unsubscribe();
      if (timer) clearTimeout(timer);
      recheck.stop();
      options.signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = () => finish(() => reject(options.signal?.reason as Error));
    const settleIfEnded = (counts: StatusCounts) => {
      if (terminalCount(counts) >= total) finish(() => resolve(counts));
    };
    // Every quiet spell (the first one included) reads the counts itself: see quietRecheck.
    const recheck = quietRecheck(() => readCounts(store, orchestrationId).then(settleIfEnded), { growth: 1 });
    const unsubscribe = store.collections.counters(orchestrationId).onSnapshot(
      (snapshot) => {
        if (snapshot.size > 0)
          settleIfEnded(sumShards(snapshot.docs.map((doc) => doc.data() as Partial<StatusCounts>)));
        if (!settled) recheck.heard();
      },
      (error) => finish(() => reject(error)),
    );
    if (options.timeoutMs !== undefined) {
      timer = setTimeout(
        () =>
          finish(() =>
            reject(
              new E11Error(
                ErrorCode.Timeout,
                `Orchestration ${orchestrationId} did not end within ${options.timeoutMs} ms.`,
                {
                  retryable: true,
                  context: { orchestrationId },
                },
              ),
            ),
          ),
        options.timeoutMs,
      );
    }
    options.signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Every job of an orchestration (with `status`, only those), in index order: the job documents, read in
 * pages, plus the `Pending` jobs that have no document yet (from the params chunks).
 */
export async function readAllJobs(store: Store, orchestrationId: string, status?: string): Promise<JobDoc[]> {
  const jobs = await readJobDocuments(store, orchestrationId, status);
  if (status !== undefined && status !== JobStatus.Pending) return jobs;
  const source = await findOrchestration(store, orchestrationId);
  if (!source) return jobs;
  // Every job document was just read, or (Pending only) only their ids are listed.
  const unwritten = await readUnwrittenJobs(
    store,
    source,
    status === undefined ? new Set(jobs.map((job) => job.id)) : undefined,
  );
  return unwritten.length === 0 ? jobs : [...jobs, ...unwritten].sort((a, b) => a.index - b.index);
}

async function readJobDocuments(store: Store, orchestrationId: string, status?: string): Promise<JobDoc[]> {
  const jobs: JobDoc[] = [];
  const pageSize = 1_000;
  let query = store.collections.jobs(orchestrationId).orderBy('index');
  if (status !== undefined)
    query = store.collections.jobs(orchestrationId).where('status', '==', status).orderBy('index');
  let last: number | undefined;
  for (;;) {
    const page = await (last === undefined ? query : query.startAfter(last)).limit(pageSize).get();
    for (const snapshot of page.docs) jobs.push(parseJobDocument(snapshot));
    if (page.size < pageSize) return jobs;
    last = jobs[jobs.length - 1]?.index;
  }
}

/**
 * Splits terminal jobs into successes and failures (failures keep their params and error context),
 * redacted with the orchestration's `sensitiveKeys`: those keys of params and results read
 * `[REDACTED]` and their values are redacted from error texts (the caller that needs a secret to
 * retry a failure passed it at kick-off and has it already).
 */
export function partitionResults<R, P = JobParams>(
  stored: readonly JobDoc[],
  sensitiveKeys: readonly string[],
): JobResults<R, P> {
  const successes: JobSuccess<R, P>[] = [];
  const failures: JobFailure<P>[] = [];
  for (const job of stored.map((doc) => redactJob(doc, sensitiveKeys))) {
    if (job.status === JobStatus.Completed) {
      successes.push({ jobId: job.id, index: job.index, params: job.params as P, result: job.result as R });
    } else if (job.status === JobStatus.Errored || job.status === JobStatus.Cancelled) {
      failures.push({
        jobId: job.id,
        index: job.index,
        params: job.params as P,
        jobName: job.jobName,
        orchestrationId: job.orchestrationId,
        status: job.status,
        error: job.error ?? {
          message: 'The job was cancelled before it finished.',
          code: ErrorCode.Cancelled,
        },
        attempts: job.attempt,
        deadLettered: job.deadLettered,
      });
    }
  }
  return [successes, failures.length > 0 ? failures : null];
}
