import { FieldPath, type QueryDocumentSnapshot, Timestamp } from '@google-cloud/firestore';
import PQueue from 'p-queue';

import { checkCompletion } from '../completion/check-completion.js';
import type { EventPublisher } from '../completion/event-publisher.js';
import { republishPendingEvents } from '../completion/republish-pending.js';
import { DEFAULTS } from '../defaults.js';
import { GrpcStatus, grpcCodeOf } from '../internal/grpc-errors.js';
import { type JobDoc, type OrchestrationDoc, orchestrationDocSchema } from '../model/documents.js';
import { parseDocument, parseJobDocument } from '../model/parse.js';
import { JobStatus } from '../model/status.js';
import { deleteOrchestrationsOlderThan } from '../monitoring/retention.js';
import { cancelOrchestration } from '../orchestration/failure-ops.js';
import { type LaunchContext, launchJobs } from '../orchestration/launch-jobs.js';
import { readCounts } from '../store/counts.js';
import { recoverStaleJob } from '../store/recover-job.js';
import type { Store } from '../store/store.js';
import { firstWriteOf, isVirtualJob, readUnwrittenJobs } from '../store/virtual-jobs.js';

/** Options for {@link sweep}. Durations in milliseconds. */
export interface SweepOptions {
  /** Jobs still `Pending` this long after their launch (lost launch) are launched again. @default DEFAULTS.pendingTimeoutMs */
  pendingTimeoutMs?: number;
  /** A job released by an interrupted task, or requeued after a crash, is relaunched after this grace (Cloud Run's own task retry goes first). @default DEFAULTS.requeueGraceMs */
  requeueGraceMs?: number;
  /**
   * The sweeper ends an orchestration whose jobs are all terminal only once none of its jobs was
   * written for this long: a normal end is the trigger's (it runs within seconds of the last job
   * write), the sweeper only picks up the ends whose trigger was lost. Exactly once either way.
   * @default DEFAULTS.completionGraceMs
   */
  completionGraceMs?: number;
  /** Active orchestrations examined per sweep, read in pages of `pageSize`. @default 5000 */
  limit?: number;
  /** Active orchestrations read per query. @default 500 */
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
}

/** What the sweeper needs. */
export interface SweepContext extends LaunchContext {
  publisher: EventPublisher;
}

const ACTIVE = [JobStatus.Pending, JobStatus.InProgress];

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
  };
  const nowMs = store.clock.now();
  const pendingTimeoutMs = options.pendingTimeoutMs ?? DEFAULTS.pendingTimeoutMs;
  const requeueGraceMs = options.requeueGraceMs ?? DEFAULTS.requeueGraceMs;
  const completionGraceMs = options.completionGraceMs ?? DEFAULTS.completionGraceMs;
  const completion = { store, publisher: context.publisher };

  const queue = new PQueue({ concurrency: 4 });
  const sweepSnapshot = async (snapshot: QueryDocumentSnapshot): Promise<void> => {
    try {
      // Inside the try: one unreadable document (corrupt, or a newer schema) must not end the pass.
      const orchestration = parseDocument(orchestrationDocSchema, snapshot);
      if (!orchestration.registered) return;
      report.orchestrations++;
      await sweepOne(context, orchestration, nowMs, { pendingTimeoutMs, requeueGraceMs }, report);
      const check = await checkCompletion(completion, orchestration.id, {
        settledForMs: completionGraceMs,
      });
      if (check.outcome === 'published') report.completed++;
    } catch (error) {
      logger.warn(
        { err: (error as Error).message, orchestrationId: snapshot.id },
        'sweep of orchestration failed',
      );
    }
  };
  // Every active orchestration, page by page (not only the first page: none may starve).
  const maxActive = options.limit ?? 5_000;
  const pageSize = Math.max(1, options.pageSize ?? 500);
  let seen = 0;
  let last: QueryDocumentSnapshot | undefined;
  while (seen < maxActive) {
    let query = store.collections
      .orchestrations()
      .where('status', 'in', ACTIVE)
      .orderBy(FieldPath.documentId())
      .limit(Math.min(pageSize, maxActive - seen));
    if (last) query = query.startAfter(last);
    const page = await query.get();
    for (const snapshot of page.docs) void queue.add(() => sweepSnapshot(snapshot));
    seen += page.size;
    last = page.docs.at(-1);
    if (page.size < pageSize) break;
  }
  await queue.onIdle();

  report.republished = await republishPendingEvents(completion, { pageSize: options.pageSize, logger });
  try {
    report.abandoned = await removeAbandonedRegistrations(context, nowMs - pendingTimeoutMs);
  } catch (error) {
    // E.g. its composite index still building after a deploy: the other steps go on.
    logger.warn({ err: (error as Error).message }, 'could not look for abandoned registrations');
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
      await store.firestore.recursiveDelete(snapshot.ref);
      removed++;
      logger.warn(
        { orchestrationId: snapshot.id },
        'Removed an orchestration whose kick-off died before registering all its jobs',
      );
    } catch (error) {
      logger.warn(
        { err: (error as Error).message, orchestrationId: snapshot.id },
        'could not remove an abandoned registration',
      );
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
  if (counts.pending <= storedPending.data().count) return [];
  return readUnwrittenJobs(store, orchestration);
}

async function sweepOne(
  context: SweepContext,
  orchestration: OrchestrationDoc,
  nowMs: number,
  limits: { pendingTimeoutMs: number; requeueGraceMs: number },
  report: SweepReport,
): Promise<void> {
  const { store } = context;
  if (orchestration.deadlineAt && orchestration.deadlineAt.toMillis() < nowMs) {
    await cancelOrchestration(context, orchestration.id, { reason: 'timeout' });
    report.timedOut++;
    return;
  }
  const jobs = store.collections.jobs(orchestration.id);
  const heartbeatTimeoutMs = orchestration.policy.heartbeatTimeoutMs;
  const stale = await jobs
    .where('status', '==', JobStatus.InProgress)
    .where('heartbeatAt', '<', Timestamp.fromMillis(nowMs - heartbeatTimeoutMs))
    .get();
  const relaunch: JobDoc[] = [];
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
  const waiting = await jobs
    .where('status', '==', JobStatus.Pending)
    .where('updatedAt', '<', Timestamp.fromMillis(nowMs - limits.requeueGraceMs))
    .get();
  // The kick-off that launches the jobs died (no launch completed, no sign of life for pendingTimeoutMs).
  const launcherLastSeenMs = Math.max(
    orchestration.launchHeartbeatAt?.toMillis() ?? 0,
    orchestration.launchedAt?.toMillis() ?? 0,
    orchestration.createdAt.toMillis(),
  );
  const launcherGone =
    orchestration.launchCompletedAt === null && launcherLastSeenMs < nowMs - limits.pendingTimeoutMs;
  // A never-started job waits for its own launch: it is lost once it waited pendingTimeoutMs when a
  // per-job launch finished without starting it, or when the launcher itself died (either mode).
  const launchLost =
    (orchestration.mode === 'per-job' && orchestration.launchCompletedAt !== null) || launcherGone;
  const waitedTooLong = (updatedAt: Timestamp) => updatedAt.toMillis() < nowMs - limits.pendingTimeoutMs;
  for (const snapshot of waiting.docs) {
    const job = parseJobDocument(snapshot);
    const requeued = job.attempt > 0;
    if (requeued || (launchLost && waitedTooLong(job.updatedAt))) relaunch.push(job);
  }
  // Jobs with no document yet (their updatedAt is the orchestration's createdAt) are lost on the same
  // terms; they are listed only when the counters hold more Pending jobs than there are Pending documents.
  if (launchLost && orchestration.paramsChunkSize !== null && waitedTooLong(orchestration.createdAt)) {
    relaunch.push(...(await unwrittenJobs(store, orchestration)));
  }
  if (relaunch.length === 0) return;
  const launch = await launchJobs(context, {
    orchestration,
    jobs: relaunch.map((job) => ({ id: job.id, index: job.index })),
    concurrency: DEFAULTS.launchConcurrency,
    perJob: true,
  });
  report.relaunched += launch.launched;
  // Give relaunched jobs a fresh updatedAt so the next sweep does not launch them again at once. A job
  // that had no document usually has one now (the launch recorded its execution); if not, it gets one.
  const updatedAt = Timestamp.fromMillis(store.clock.now());
  await Promise.all(
    relaunch.map(async (job) => {
      const ref = store.collections.job(orchestration.id, job.id);
      try {
        await ref.update({ updatedAt });
      } catch (error) {
        if (isVirtualJob(job) && grpcCodeOf(error) === GrpcStatus.NOT_FOUND) {
          await ref.create({ ...firstWriteOf(job), updatedAt }).catch(() => undefined);
        }
      }
    }),
  );
}
