import { type QueryDocumentSnapshot, Timestamp } from '@google-cloud/firestore';
import PQueue from 'p-queue';
import { checkCompletion } from '../completion/check-completion.js';
import { type EventPublisher } from '../completion/event-publisher.js';
import { republishPendingEvents } from '../completion/republish-pending.js';
import { DEFAULTS } from '../defaults.js';
import { type JobDoc, type OrchestrationDoc, orchestrationDocSchema } from '../model/documents.js';
import { parseDocument, parseJobDocument } from '../model/parse.js';
import { JobStatus } from '../model/status.js';
import { deleteOrchestrationsOlderThan } from '../monitoring/retention.js';
import { admitAndLaunch } from '../orchestration/admit.js';
import { cancelOrchestration, enforceEndPolicies } from '../orchestration/failure-ops.js';
import { type LaunchContext, launchJobs } from '../orchestration/launch-jobs.js';
import { doneAdmitting } from '../store/admission.js';
import { readCounts } from '../store/counts.js';
import { failPendingJob } from '../store/fail-pending-job.js';
import { markRelaunched } from '../store/launch-records.js';
import { recoverStaleJob } from '../store/recover-job.js';
import { removeOrchestration } from '../store/remove-orchestration.js';
import { type Store } from '../store/store.js';
import { readUnwrittenJobs } from '../store/unwritten-jobs.js';

import { visitActiveOrchestrations } from './active-orchestrations.js';
import { decidePending, executionStates, launchedAsArray, type LaunchState } from './pending-jobs.js';

/** Options for `sweep` (`OrchestrationService.sweep`). Durations in milliseconds. */
export interface SweepOptions {
  /**
   * A launcher (kick-off or retryFailed) silent this long has died: the sweeper launches its jobs. A job
   * its finished launcher never launched is launched after this long; with a launcher that cannot
   * describe executions, so is a launched job still unclaimed. @default DEFAULTS.pendingTimeoutMs
   */
  pendingTimeoutMs?: number;
  /**
   * A `Pending` job written within this grace is left alone this pass. A job released by an
   * interrupted task, or requeued after a crash, is relaunched once every execution that may run it
   * ended (Cloud Run's own task retry goes first). @default DEFAULTS.requeueGraceMs
   */
  requeueGraceMs?: number;
  /**
   * The sweeper ends an orchestration whose jobs are all terminal only once none of its jobs was
   * written for this long: a normal end is the trigger's (it runs within seconds of the last job
   * write), the sweeper only picks up the ends whose trigger was lost. Exactly once either way.
   * @default DEFAULTS.completionGraceMs
   */
  completionGraceMs?: number;
  /**
   * Active orchestrations examined per sweep, read in pages of `pageSize`. With more active ones, the
   * next sweep continues where this one stopped (a cursor stored in Firestore), wrapping around.
   * @default DEFAULTS.sweepMaxActive
   */
  limit?: number;
  /** Active orchestrations read per query. @default DEFAULTS.sweepPageSize */
  pageSize?: number;
  /** Also delete ended orchestrations created more than this many days ago (retention). @default off */
  retentionDays?: number;
}

/** What one sweep found and did. */
export interface SweepReport {
  orchestrations: number;
  /** Jobs whose heartbeat went stale. */
  crashed: number;
  /** Crashed jobs put back to Pending for a relaunch. */
  requeued: number;
  /** Crashed jobs with no attempts left. */
  deadLettered: number;
  /** Jobs launched again. */
  relaunched: number;
  /** Orchestrations cancelled because their deadline passed. */
  timedOut: number;
  /** Orchestrations whose end was detected here (a trigger was lost). */
  completed: number;
  /** Events published here after an earlier publish failed. */
  republished: number;
  /** Orchestrations deleted by the retention setting. */
  deleted: number;
  /**
   * Half-registered orchestrations removed: their kick-off died before registering every job (it never
   * returned their id, so no event is owed), and a retry with the same idempotency key can start afresh.
   */
  abandoned: number;
  /** Running pipelines looked at (advanced if a stage's end was missed) and ended ones whose event was owed. */
  pipelines: number;
}

/** What the sweeper needs. */
export interface SweepContext extends LaunchContext {
  publisher: EventPublisher;
}

/** The grace periods of one sweep, and its cache of execution states. */
interface SweepLimits {
  pendingTimeoutMs: number;
  requeueGraceMs: number;
  describe: LaunchState['describe'];
}

/**
 * One maintenance pass; run it every minute or so (the functions package exports it as an HTTP
 * function for Cloud Scheduler; the local stack runs it on a timer). For each active orchestration it:
 * cancels it when its deadline passed; treats `InProgress` jobs with a stale heartbeat as crashed
 * (requeue and relaunch while attempts remain, else dead-letter); relaunches jobs left `Pending`
 * (released by an interrupted task, or a lost launch); and runs completion detection, so an
 * orchestration whose trigger was lost still ends with exactly one event. Finally it publishes events
 * whose first publish failed. Every step is idempotent and safe to run concurrently with everything else.
 */
export async function sweep(context: SweepContext, options: SweepOptions = {}): Promise<SweepReport> {
  const { store, logger } = context;
  const report: SweepReport = {
    orchestrations: 0,
    crashed: 0,
    requeued: 0,
    deadLettered: 0,
    relaunched: 0,
    timedOut: 0,
    completed: 0,
    republished: 0,
    deleted: 0,
    abandoned: 0,
    pipelines: 0,
  };
  const nowMs = store.clock.now();
  const pendingTimeoutMs = options.pendingTimeoutMs ?? DEFAULTS.pendingTimeoutMs;
  const requeueGraceMs = options.requeueGraceMs ?? DEFAULTS.requeueGraceMs;
  const completionGraceMs = options.completionGraceMs ?? DEFAULTS.completionGraceMs;
  const completion = { store, publisher: context.publisher };
  const limits = { pendingTimeoutMs, requeueGraceMs, describe: executionStates(context.launcher) };

  const queue = new PQueue({ concurrency: 4 });
  const sweepSnapshot = async (snapshot: QueryDocumentSnapshot): Promise<void> => {
    try {
      // Inside the try: one unreadable document (corrupt, or a newer schema) must not end the pass.
      const orchestration = parseDocument(orchestrationDocSchema, snapshot);
      if (!orchestration.registered) return;
      report.orchestrations++;
      await sweepOne(context, orchestration, nowMs, limits, report);
      const check = await checkCompletion(completion, orchestration.id, {
        settledForMs: completionGraceMs,
      });
      if (check.outcome === 'published') report.completed++;
    } catch (error) {
      logger.warn({ err: error, orchestrationId: snapshot.id }, 'sweep of orchestration failed');
    }
  };
  await visitActiveOrchestrations(context, { limit: options.limit, pageSize: options.pageSize }, (snapshot) =>
    queue.add(() => sweepSnapshot(snapshot)),
  );

  report.republished = await republishPendingEvents(completion, { pageSize: options.pageSize, logger });
  try {
    report.abandoned = await removeAbandonedRegistrations(context, nowMs - pendingTimeoutMs);
  } catch (error) {
    // E.g. its composite index still building after a deploy: the other steps go on.
    logger.warn({ err: error }, 'could not look for abandoned registrations');
  }
  if (options.retentionDays !== undefined) {
    report.deleted = (await deleteOrchestrationsOlderThan(store, options.retentionDays)).deleted.length;
  }
  return report;
}

/**
 * Deletes orchestrations still unregistered (`registered: false`) that were created before `beforeMs`:
 * their kick-off died while writing the params chunks. The query asks for the old ones only (composite
 * index registered + createdAt), so registrations still being written never crowd them out.
 */
async function removeAbandonedRegistrations(context: SweepContext, beforeMs: number): Promise<number> {
  const { store, logger } = context;
  const abandoned = await store.collections
    .orchestrations()
    .where('registered', '==', false)
    .where('createdAt', '<', Timestamp.fromMillis(beforeMs))
    .orderBy('createdAt')
    .limit(100)
    .get();
  let removed = 0;
  for (const snapshot of abandoned.docs) {
    try {
      await removeOrchestration(store, snapshot.id);
      removed++;
      logger.warn(
        { orchestrationId: snapshot.id },
        'Removed an orchestration whose kick-off died before registering all its jobs',
      );
    } catch (error) {
      logger.warn({ err: error, orchestrationId: snapshot.id }, 'could not remove an abandoned registration');
    }
  }
  return removed;
}

/** The jobs of `orchestration` that have no document yet, if the counters say there are any. */
async function unwrittenJobs(store: Store, orchestration: OrchestrationDoc): Promise<JobDoc[]> {
  const jobs = store.collections.jobs(orchestration.id);
  const [counts, storedPending] = await Promise.all([
    readCounts(store, orchestration.id),
    jobs.where('status', '==', JobStatus.Pending).count().get(),
  ]);
  // Jobs past a maxParallel cursor are Pending without a document, and rightly so.
  const notAdmitted = orchestration.total - (orchestration.admitted ?? orchestration.total);
  if (counts.pending - notAdmitted <= storedPending.data().count) return [];
  return readUnwrittenJobs(store, orchestration);
}

async function sweepOne(
  context: SweepContext,
  orchestration: OrchestrationDoc,
  nowMs: number,
  limits: SweepLimits,
  report: SweepReport,
): Promise<void> {
  if (orchestration.deadlineAt && orchestration.deadlineAt.toMillis() < nowMs) {
    await cancelOrchestration(context, orchestration.id, { reason: 'timeout' });
    report.timedOut++;
    return;
  }
  await recoverCrashedJobs(context, orchestration, nowMs, report);
  // Its maxFailures or successPolicy met while the trigger that should have said so was lost.
  const policed = orchestration.maxFailures !== null || orchestration.successNeeded !== null;
  if (policed && (await enforceEndPolicies(context, orchestration.id)) !== null) return;
  // Paused: nothing new launches (a crashed job requeued above waits for resume() with the others).
  // Not started yet (startAt): nothing launches before it.
  const startAtMs = orchestration.startAt?.toMillis() ?? 0;
  if (orchestration.paused || startAtMs > nowMs) return;
  // The kick-off (or retryFailed) that launches the jobs died: no launch completed, no sign of life for
  // pendingTimeoutMs (a delayed one: since its start, when its backend was to launch it).
  // With maxParallel, each admission (the cursor's last move) launches too, like the kick-off's.
  const launcherLastSeenMs = Math.max(
    orchestration.launchHeartbeatAt?.toMillis() ?? 0,
    orchestration.launchedAt?.toMillis() ?? 0,
    orchestration.createdAt.toMillis(),
    orchestration.admittedAt?.toMillis() ?? 0,
    startAtMs,
  );
  const timeoutBeforeMs = nowMs - limits.pendingTimeoutMs;
  const admitting = orchestration.admittedAt !== null;
  const outcome = await launchWaitingJobs(context, {
    orchestration,
    launcherGone:
      (orchestration.launchCompletedAt === null || admitting) && launcherLastSeenMs < timeoutBeforeMs,
    timeoutBeforeMs,
    describe: limits.describe,
    canDescribe: context.launcher.describe !== undefined,
    writtenBeforeMs: nowMs - limits.requeueGraceMs,
  });
  report.relaunched += outcome.relaunched;
  report.deadLettered += outcome.deadLettered;
  // Slots a lost completion trigger did not fill (or that relaunches above did not take).
  if (!doneAdmitting(orchestration)) {
    const admission = await admitAndLaunch(context, orchestration.id);
    report.relaunched += admission.launch?.launched ?? 0;
  }
}

/** `InProgress` jobs whose heartbeat went stale: requeued while attempts remain, else dead-lettered. */
async function recoverCrashedJobs(
  context: SweepContext,
  orchestration: OrchestrationDoc,
  nowMs: number,
  report: SweepReport,
): Promise<void> {
  const { store } = context;
  const heartbeatTimeoutMs = orchestration.policy.heartbeatTimeoutMs;
  const stale = await store.collections
    .jobs(orchestration.id)
    .where('status', '==', JobStatus.InProgress)
    .where('heartbeatAt', '<', Timestamp.fromMillis(nowMs - heartbeatTimeoutMs))
    .get();
  for (const snapshot of stale.docs) {
    report.crashed++;
    const outcome = await recoverStaleJob(store, {
      orchestrationId: orchestration.id,
      jobId: snapshot.id,
      heartbeatTimeoutMs,
      defaultMaxAttempts: orchestration.policy.maxAttempts ?? DEFAULTS.maxAttempts,
    });
    if (outcome === 'requeued') report.requeued++;
    if (outcome === 'dead-lettered') report.deadLettered++;
  }
}

/**
 * Launches what an orchestration's `Pending` jobs written before `writtenBeforeMs` still need (the
 * rules of {@link decidePending}): jobs never launched once their launcher is gone, and launches that
 * were lost; a job whose launches used up its attempts is dead-lettered. Used by every sweep, and by
 * `resume()` (whose launcher, the run the pause stopped, is gone by definition).
 */
export async function launchWaitingJobs(
  context: LaunchContext,
  state: LaunchState & { writtenBeforeMs: number },
): Promise<{ relaunched: number; deadLettered: number }> {
  const { store } = context;
  const { orchestration } = state;
  const outcome = { relaunched: 0, deadLettered: 0 };
  const waiting = await store.collections
    .jobs(orchestration.id)
    .where('status', '==', JobStatus.Pending)
    .where('updatedAt', '<', Timestamp.fromMillis(state.writtenBeforeMs))
    .get();
  // With maxParallel (a key, the budget), only admitted jobs (below the cursor, and not reopened ones
  // waiting in `readmit`) may launch; the others wait for a slot.
  const admitted = orchestration.admitted ?? orchestration.total;
  const readmit = new Set(orchestration.readmit);
  const mayLaunch = (job: JobDoc) => job.index < admitted && !readmit.has(job.index);
  const pending: JobDoc[] = waiting.docs.map((snapshot) => parseJobDocument(snapshot)).filter(mayLaunch);
  // Jobs with no document yet are listed only when one may be lost (their launcher died, or a launch
  // that should have run them ended) and the counters hold more Pending jobs than there are documents.
  if (await mayHaveLostUnwritten(state)) {
    pending.push(...(await unwrittenJobs(store, orchestration)).filter(mayLaunch));
  }
  const relaunch: JobDoc[] = [];
  // Each decision may read an execution from Cloud Run: a few at once, not one after another.
  await new PQueue({ concurrency: DEFAULTS.launchConcurrency }).addAll(
    pending.map((job) => async () => {
      const decision = await decidePending(state, job);
      if (decision.action === 'relaunch') relaunch.push(job);
      if (decision.action === 'dead-letter') {
        const ended = await failPendingJob(store, {
          orchestrationId: orchestration.id,
          jobId: job.id,
          known: job,
          error: decision.error,
          deadLettered: true,
        });
        if (ended) outcome.deadLettered++;
      }
    }),
  );
  if (relaunch.length === 0) return outcome;
  relaunch.sort((a, b) => a.index - b.index);
  // Jobs of an array-mode kick-off go out again as array executions of consecutive indices; the others
  // (per-job mode, or reopened by retryFailed) one execution each.
  const asArray = relaunch.filter((job) => launchedAsArray(orchestration, job));
  const perJob = relaunch.filter((job) => !launchedAsArray(orchestration, job));
  for (const [group, single] of [
    [asArray, false],
    [perJob, true],
  ] as const) {
    if (group.length === 0) continue;
    const launch = await launchJobs(context, {
      orchestration,
      // Waiting since its last write as Pending (released, requeued, or its lost launch): e11.queue.wait.
      jobs: group.map((job) => ({ id: job.id, index: job.index, waitingSinceMs: job.updatedAt.toMillis() })),
      concurrency: DEFAULTS.launchConcurrency,
      perJob: single,
    });
    outcome.relaunched += launch.launched;
  }
  // Give relaunched jobs a fresh updatedAt so the next sweep does not launch them again at once.
  await Promise.all(relaunch.map((job) => markRelaunched(store, job)));
  return outcome;
}

/**
 * Whether jobs without a document may be lost: their launcher died; or its launch completed and (array
 * mode) an execution of it ended, or (per-job mode, or executions that cannot be described) it
 * completed longer than `pendingTimeoutMs` ago.
 */
async function mayHaveLostUnwritten(state: LaunchState): Promise<boolean> {
  const { orchestration } = state;
  if (state.launcherGone) return true;
  if (orchestration.launchCompletedAt === null) return false;
  if (orchestration.mode === 'array' && state.canDescribe && orchestration.executions.length > 0) {
    const states = await Promise.all(orchestration.executions.map((name) => state.describe(name)));
    if (states.some((s) => s !== 'error' && s?.done === true)) return true;
    // Executions the launcher does not know (pruned, or another process's local launcher): the timeout.
    if (!states.every((s) => s === undefined)) return false;
  }
  return orchestration.launchCompletedAt.toMillis() < state.timeoutBeforeMs;
}
