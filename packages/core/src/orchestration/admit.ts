import { DEFAULTS } from '../defaults.js';
import { jobIdFor } from '../internal/ids.js';
import type { StatusCounts } from '../model/status.js';
import { admitWaitingJobs } from '../store/admission.js';
import { recordLaunchHeartbeat } from '../store/launch-records.js';

import { type LaunchContext, type LaunchReport, launchJobs } from './launch-jobs.js';

/** What {@link admitAndLaunch} did. */
export interface AdmitReport {
  /** Jobs this call admitted (0: no slot was free, or the orchestration admits nothing now). */
  admitted: number;
  /** The launch of those jobs; null when none was admitted. */
  launch: LaunchReport | null;
}

/**
 * Fills the free slots of a `maxParallel` orchestration: admits the next jobs (`admitWaitingJobs`,
 * exactly one caller per job) and launches them, a range of consecutive indices, which array mode
 * sends as one execution. Called on each job's end (the completion function), by the sweeper and by
 * `resume()`. While it launches it heartbeats on the orchestration like a kick-off's launch, so the
 * sweeper relaunches the jobs only once this caller is silent (it died between admitting and
 * launching); a job it cannot launch now stays `Pending` for the sweeper.
 */
export async function admitAndLaunch(
  context: LaunchContext,
  orchestrationId: string,
  counts?: StatusCounts,
): Promise<AdmitReport> {
  const admission = await admitWaitingJobs(context.store, orchestrationId, counts);
  if (!admission) return { admitted: 0, launch: null };
  const { orchestration, first, count } = admission;
  const heartbeat = setInterval(() => {
    recordLaunchHeartbeat(context.store, orchestrationId).catch(() => undefined);
  }, DEFAULTS.launchHeartbeatMs);
  heartbeat.unref();
  try {
    const launch = await launchJobs(context, {
      orchestration,
      jobs: Array.from({ length: count }, (_, offset) => ({
        id: jobIdFor(orchestrationId, first + offset),
        index: first + offset,
      })),
      concurrency: context.launch.concurrency,
      // Admitted just now, neither cancelled nor paused: no listener per admission.
      watchCancel: false,
    });
    return { admitted: count, launch };
  } finally {
    clearInterval(heartbeat);
  }
}
