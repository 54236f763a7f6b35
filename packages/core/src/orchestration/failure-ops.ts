import PQueue from 'p-queue';
import { checkCompletion } from '../completion/check-completion.js';
import { type EventPublisher } from '../completion/event-publisher.js';
import { E11Error, ErrorCode } from '../errors.js';
import { type EndReason, type JobDoc, type OrchestrationDoc } from '../model/documents.js';
import { isTerminal, JobStatus, type StatusCounts, terminalCount } from '../model/status.js';
import { MAX_READMIT, readmitJobs } from '../store/admission.js';
import { orchestrationGroup, rejoinInFlightBudget } from '../store/budget-admission.js';
import { cancelJob } from '../store/cancel-job.js';
import { readCounts } from '../store/counts.js';
import { rejoinConcurrencyKey } from '../store/key-admission.js';
import { markLaunchCompleted, startLaunchHeartbeat } from '../store/launch-records.js';
import { findOrchestration, loadOrchestration } from '../store/orchestration-docs.js';
import { discardJob, openEpoch, reopenJob, stillReopenable } from '../store/reopen-job.js';
import { requestCancel } from '../store/request-cancel.js';

import { admitAndLaunch } from './admit.js';
import { emptyReport, type LaunchContext, type LaunchReport, launchJobs } from './launch-jobs.js';
import { readAllJobs } from './results.js';

/** What the failure operations need: the launch context, and a publisher to end orchestrations at once. */
export interface OpsContext extends LaunchContext {
  publisher?: EventPublisher;
}

const parallel = <T>(items: readonly T[], fn: (item: T) => Promise<unknown>) =>
  new PQueue({ concurrency: 16 }).addAll(items.map((item) => () => fn(item)));

/**
 * Cancels an orchestration: records the request, moves every unfinished job to `Cancelled`, asks
 * Cloud Run to cancel the executions that may still run, and (with a publisher) ends the orchestration
 * at once with one JobCompletedEvent whose status is `Cancelled`. An orchestration that already ended
 * is left alone. `reason: 'timeout'` is used by the sweeper for orchestration deadlines.
 */
export async function cancelOrchestration(
  context: OpsContext,
  orchestrationId: string,
  options: { reason?: EndReason } = {},
): Promise<{ cancelled: number; executions: number }> {
  const { store, launcher, logger } = context;
  const reason = options.reason ?? 'cancelled';
  const orchestration = await loadOrchestration(store, orchestrationId);
  if (isTerminal(orchestration.status)) return { cancelled: 0, executions: 0 };
  await requestCancel(store, orchestrationId, reason);
  const open = [
    ...(await readAllJobs(store, orchestrationId, JobStatus.InProgress)),
    ...(await readAllJobs(store, orchestrationId, JobStatus.Pending)),
  ];
  const executions = new Set<string>(orchestration.executions);
  let cancelled = 0;
  const message =
    reason === 'timeout'
      ? `The orchestration passed its deadline (${orchestration.deadlineAt?.toDate().toISOString() ?? 'unknown'}) before this job finished.`
      : 'The orchestration was cancelled before this job finished.';
  await parallel(open, async (job) => {
    const before = await cancelJob(store, {
      orchestrationId,
      jobId: job.id,
      known: job,
      error: {
        message,
        code: reason === 'timeout' ? ErrorCode.Timeout : ErrorCode.Cancelled,
        name: null,
        stack: null,
        jobName: job.jobName,
        orchestrationId,
        retryable: false,
      },
    });
    if (!before) return;
    cancelled++;
    if (before.executionName?.includes('/executions/')) executions.add(before.executionName);
  });
  await parallel([...executions], (name) =>
    launcher
      .cancel(name)
      .catch((error: unknown) => logger.warn({ err: error, name }, 'could not cancel execution')),
  );
  if (context.publisher) {
    // The cancellation is done; if the event cannot be published now, the sweeper publishes it later.
    await checkCompletion({ store, publisher: context.publisher }, orchestrationId).catch((error: unknown) =>
      logger.warn({ err: error, orchestrationId }, 'cancelled; event publish will be retried'),
    );
  }
  return { cancelled, executions: executions.size };
}

/**
 * Ends an orchestration early when its end policies say so (`maxFailures`, `successPolicy`): more
 * failures than allowed cancel it with reason `maxFailures` (it ends `Errored`: nothing new launches,
 * the unfinished jobs are cancelled, their executions too); the successes needed cancel the rest with
 * reason `successPolicy` (it ends `Completed`). An orchestration whose jobs all ended is left to its
 * natural end. `counts` may be the caller's (the completion check's): older counts can only delay the
 * decision to a later job end or sweep. Safe to repeat: a second caller finds it cancelled. Returns
 * the reason it ended it for, or null.
 */
export async function enforceEndPolicies(
  context: OpsContext,
  orchestrationId: string,
  counts?: StatusCounts,
): Promise<EndReason | null> {
  const { store } = context;
  const orchestration = await findOrchestration(store, orchestrationId);
  if (!orchestration || (orchestration.maxFailures === null && orchestration.successNeeded === null)) {
    return null;
  }
  if (orchestration.cancelRequested || isTerminal(orchestration.status)) return null;
  const live = counts ?? (await readCounts(store, orchestrationId));
  if (terminalCount(live) >= orchestration.total) return null;
  const { maxFailures, successNeeded } = orchestration;
  const reason: EndReason | null =
    maxFailures !== null && live.errored > maxFailures
      ? 'maxFailures'
      : successNeeded !== null && live.completed >= successNeeded
        ? 'successPolicy'
        : null;
  if (reason === null) return null;
  context.logger.info(
    { orchestrationId, reason, counts: live, maxFailures, successNeeded },
    'end policy met: cancelling the unfinished jobs',
  );
  await cancelOrchestration(context, orchestrationId, { reason });
  return reason;
}

/**
 * Relaunches failed jobs with their original params (all `Errored`, not discarded, jobs by default, or
 * the given ids, which may also be `Cancelled`). They reopen in a new epoch, so the orchestration's next
 * end produces a new JobCompletedEvent. Safe against concurrent calls and the sweeper: each job is
 * reopened by one call only, never into an epoch that ended, and launched once; while this call
 * launches, it heartbeats on the orchestration like a kick-off, so if it dies the sweeper launches
 * what it left.
 */
export async function retryFailedJobs(
  context: OpsContext,
  orchestrationId: string,
  options: { jobIds?: readonly string[]; concurrency: number },
): Promise<{ epoch: number; jobIds: string[]; launch: LaunchReport }> {
  const { store } = context;
  const orchestration = await loadOrchestration(store, orchestrationId);
  const candidates = options.jobIds
    ? (await readAllJobs(store, orchestrationId)).filter((job) => options.jobIds?.includes(job.id))
    : await readAllJobs(store, orchestrationId, JobStatus.Errored);
  if (options.jobIds) {
    const known = new Set(candidates.map((job) => job.id));
    const unknown = options.jobIds.find((id) => !known.has(id));
    if (unknown !== undefined) {
      throw new E11Error(
        ErrorCode.UnknownJob,
        `Job ${unknown} is not part of orchestration ${orchestrationId}.`,
        {
          context: { orchestrationId, jobId: unknown },
        },
      );
    }
  }
  // With maxParallel, a concurrency key or the in-flight budget, the reopened jobs wait for slots in
  // the orchestration's document: a bounded list.
  const admitting = orchestration.admitted !== null;
  if (admitting && candidates.length + orchestration.readmit.length > MAX_READMIT) {
    throw new E11Error(
      ErrorCode.InvalidOptions,
      `retryFailed: at most ${MAX_READMIT} jobs of an orchestration with maxParallel, a concurrency key or an in-flight budget wait for a slot again at once; ${candidates.length} were asked. Retry them in parts with jobIds.`,
      { context: { orchestrationId, path: 'jobIds' } },
    );
  }
  const { reopened, epoch } = await reopenInNewEpoch(context, orchestrationId, candidates);
  if (reopened.length === 0) {
    return { epoch: orchestration.epoch, jobIds: [], launch: emptyReport() };
  }
  if (admitting) {
    const launch = await readmitAndLaunch(context, orchestration, reopened);
    return { epoch, jobIds: reopened.map((job) => job.id), launch };
  }
  // Like a kick-off's launch: alive while it launches, complete at the end (see openEpoch).
  const stopHeartbeat = startLaunchHeartbeat(store, orchestrationId, (error) =>
    context.logger.warn({ err: error, orchestrationId }, 'launch heartbeat failed'),
  );
  let launch: LaunchReport;
  try {
    launch = await launchJobs(context, {
      orchestration,
      jobs: reopened.sort((a, b) => a.index - b.index),
      concurrency: options.concurrency,
      perJob: true,
    });
  } finally {
    stopHeartbeat();
  }
  // Jobs left Pending by a quota window that outlasted the budget stay with the sweeper ("launcher gone").
  if (launch.deferred === 0) await markLaunchCompleted(store, orchestrationId);
  return { epoch, jobIds: reopened.map((job) => job.id), launch };
}

/**
 * The reopened jobs of an admitting orchestration wait for slots like any job past its cursor: they go
 * back in line (`readmitJobs`), the orchestration rejoins its key's and the budget's queues, and one
 * admission launches what the limits let go now; each later job end admits the next. While this runs
 * it heartbeats like a launch: if it dies between the reopen and the line, the sweeper takes over.
 */
async function readmitAndLaunch(
  context: OpsContext,
  orchestration: OrchestrationDoc,
  reopened: readonly { id: string; index: number }[],
): Promise<LaunchReport> {
  const { store } = context;
  const stopHeartbeat = startLaunchHeartbeat(store, orchestration.id, (error) =>
    context.logger.warn({ err: error, orchestrationId: orchestration.id }, 'launch heartbeat failed'),
  );
  try {
    await readmitJobs(
      store,
      orchestration.id,
      reopened.map((job) => job.index),
    );
    const { concurrencyKey, inFlightBudget } = orchestration;
    if (concurrencyKey !== null) await rejoinConcurrencyKey(store, concurrencyKey, orchestration.id);
    if (inFlightBudget !== null) {
      const group = concurrencyKey ?? orchestrationGroup(orchestration.tenant, orchestration.id);
      await rejoinInFlightBudget(store, inFlightBudget, group);
    }
    const admission = await admitAndLaunch(context, orchestration.id);
    return admission.launch ?? emptyReport();
  } finally {
    stopHeartbeat();
  }
}

/**
 * Reopens `candidates` in a new epoch: {@link openEpoch} with the first reopenable one, then the others
 * while that epoch is still open. Jobs that find it superseded (a concurrent retryFailed opened the
 * next one) open a newer epoch in the next round. Returns the jobs reopened and the last epoch opened.
 */
async function reopenInNewEpoch(
  context: OpsContext,
  orchestrationId: string,
  candidates: readonly JobDoc[],
): Promise<{ reopened: { id: string; index: number }[]; epoch: number }> {
  const { store } = context;
  const reopened: { id: string; index: number }[] = [];
  let epoch = 0;
  let remaining = [...candidates];
  while (remaining.length > 0) {
    const first = remaining.shift() as JobDoc;
    const opened = await openEpoch(store, { orchestrationId, jobId: first.id, failedInEpoch: first.epoch });
    if (opened.outcome === 'unchanged') {
      // Taken (by a concurrent call) or discarded meanwhile: keep only the jobs still to reopen.
      const open = await stillReopenable(
        store,
        orchestrationId,
        remaining.map((job) => job.id),
      );
      remaining = remaining.filter((job) => open.has(job.id));
      continue;
    }
    epoch = opened.epoch;
    reopened.push({ id: first.id, index: first.index });
    const stale: JobDoc[] = [];
    await parallel(remaining, async (job) => {
      const outcome = await reopenJob(store, {
        orchestrationId,
        jobId: job.id,
        epoch,
        failedInEpoch: job.epoch,
      });
      if (outcome === 'reopened') reopened.push({ id: job.id, index: job.index });
      if (outcome === 'stale') stale.push(job);
    });
    remaining = stale.sort((a, b) => a.index - b.index);
  }
  return { reopened, epoch };
}

/** Marks failed jobs (all dead-lettered ones by default, or the given ids) as permanently failed. */
export async function discardJobs(
  context: Pick<OpsContext, 'store'>,
  orchestrationId: string,
  options: { jobIds?: readonly string[] } = {},
): Promise<{ discarded: number }> {
  const { store } = context;
  await loadOrchestration(store, orchestrationId);
  const failed = (await readAllJobs(store, orchestrationId, JobStatus.Errored)).filter((job) =>
    options.jobIds ? options.jobIds.includes(job.id) : job.deadLettered,
  );
  let discarded = 0;
  await parallel(failed, async (job) => {
    if (await discardJob(store, { orchestrationId, jobId: job.id })) discarded++;
  });
  return { discarded };
}
