import PQueue from 'p-queue';

import { jobIdFor } from '../internal/ids.js';
import type { OrchestrationDoc } from '../model/documents.js';
import type { StatusCounts } from '../model/status.js';
import { type Admission, admissionSize, admitWaitingJobs } from '../store/admission.js';
import { admitThroughBudget } from '../store/budget-admission.js';
import { admitThroughKey } from '../store/key-admission.js';
import { markLaunchDeferred, startLaunchHeartbeat } from '../store/launch-records.js';
import { type UnwrittenJob, unwrittenJobsByIndex } from '../store/unwritten-jobs.js';

import { type LaunchContext, type LaunchReport, launchJobs, mergeReports } from './launch-jobs.js';

/**
 * Marks admitted jobs that could not be launched for the sweeper (`markLaunchDeferred`); a job whose
 * mark cannot be written waits for the sweeper's timeout on this admission instead.
 */
async function handOver(
  context: LaunchContext,
  orchestration: OrchestrationDoc,
  jobs: readonly { id: string; index: number }[],
  unwritten: (index: number) => Promise<UnwrittenJob | undefined>,
): Promise<void> {
  await new PQueue({ concurrency: 16 }).addAll(
    jobs.map((job) => async () => {
      await markLaunchDeferred(context.store, { orchestrationId: orchestration.id, jobId: job.id }, () =>
        unwritten(job.index),
      ).catch((error: unknown) =>
        context.logger.warn(
          { orchestrationId: orchestration.id, jobId: job.id, err: error },
          'could not hand a job the admission did not launch to the sweeper; it launches it later',
        ),
      );
    }),
  );
}

/** What `admitAndLaunch` did. */
export interface AdmitReport {
  /** Jobs this call admitted (0: no slot was free, or the orchestration admits nothing now). */
  admitted: number;
  /** The launch of those jobs; null when none was admitted. */
  launch: LaunchReport | null;
  /** Jobs admitted per orchestration (a concurrency key's round may serve several). */
  admittedBy: Record<string, number>;
}

/**
 * Fills the free slots of a `maxParallel` orchestration, of the concurrency key it shares, or of the
 * region's executions-in-flight budget it takes part in: admits the next jobs (`admitWaitingJobs` /
 * `admitThroughKey` / `admitThroughBudget`, exactly one caller per job) and launches them,
 * each admission a range of consecutive indices, which array mode sends as one execution. A key's
 * or budget's admission may start jobs of the other orchestrations sharing it. Called on each job's end (the
 * completion function), by the kick-off of a keyed orchestration, by the sweeper and by `resume()`.
 * The report counts every job this call admitted and launched.
 */
export async function admitAndLaunch(
  context: LaunchContext,
  orchestrationId: string,
  counts?: StatusCounts,
): Promise<AdmitReport> {
  const found = await admitWaitingJobs(context.store, orchestrationId, counts);
  if (!found) return { admitted: 0, launch: null, admittedBy: {} };
  const onBudget = budgetRounds(context);
  const admissions =
    'inFlightBudget' in found
      ? await onBudget(found.inFlightBudget)
      : 'concurrencyKey' in found
        ? await admitThroughKey(context.store, found.concurrencyKey, onBudget)
        : [found];
  return launchAdmissions(context, admissions);
}

/**
 * Runs an admission round of concurrency key `keyId` (or of the in-flight budget it goes through) and
 * launches what it admitted: `resumeKey()` fills the slots its pause left free.
 */
export async function admitKeyAndLaunch(context: LaunchContext, keyId: string): Promise<AdmitReport> {
  return launchAdmissions(context, await admitThroughKey(context.store, keyId, budgetRounds(context)));
}

/** Runs the rounds of the in-flight budget a key or orchestration goes through. */
function budgetRounds(context: LaunchContext): (budgetId: string) => Promise<Admission[]> {
  return (budgetId) => admitThroughBudget(context.store, budgetId);
}

/** Launches each admission (in parallel) and reports them together. */
async function launchAdmissions(context: LaunchContext, admissions: Admission[]): Promise<AdmitReport> {
  if (admissions.length === 0) return { admitted: 0, launch: null, admittedBy: {} };
  const reports = await Promise.all(admissions.map((admission) => launchAdmitted(context, admission)));
  return {
    admitted: admissions.reduce((sum, admission) => sum + admissionSize(admission), 0),
    launch: mergeReports(reports),
    admittedBy: Object.fromEntries(
      admissions.map((admission) => [admission.orchestration.id, admissionSize(admission)]),
    ),
  };
}

/**
 * Launches one admission. While it launches it heartbeats on the orchestration like a kick-off's
 * launch, so the sweeper relaunches the jobs only once this caller is silent (it died between
 * admitting and launching); a job it cannot launch now is handed to the sweeper (`handOver`).
 */
async function launchAdmitted(context: LaunchContext, admission: Admission): Promise<LaunchReport> {
  const { orchestration, readmitted, first, count } = admission;
  const orchestrationId = orchestration.id;
  // The params chunks of the orchestration just read: launching reads no orchestration again.
  const unwritten = unwrittenJobsByIndex(context.store, orchestration);
  const stopHeartbeat = startLaunchHeartbeat(context.store, orchestrationId);
  const launch = (indices: number[], perJob: boolean) =>
    launchJobs(context, {
      orchestration,
      jobs: indices.map((index) => ({ id: jobIdFor(orchestrationId, index), index })),
      concurrency: context.launch.concurrency,
      unwritten,
      // Admitted just now, neither cancelled nor paused: no listener per admission.
      watchCancel: false,
      // Like retryFailed's own launch: one execution per reopened job, in either mode.
      ...(perJob ? { perJob: true } : {}),
      // Not launched now (Cloud Run said "later" past the retry budget): the next sweep launches them.
      onDeferred: (jobs) => handOver(context, orchestration, jobs, unwritten),
    });
  try {
    const range = Array.from({ length: count }, (_, offset) => first + offset);
    const reports = await Promise.all([
      ...(readmitted.length > 0 ? [launch(readmitted, true)] : []),
      ...(count > 0 ? [launch(range, false)] : []),
    ]);
    return mergeReports(reports);
  } finally {
    stopHeartbeat();
  }
}
