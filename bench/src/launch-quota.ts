import { startCloudRunEmulator } from '@e11/emulators';
import { OrchestrationService } from '@e11/sdk';
import type { Firestore } from '@google-cloud/firestore';

import { opBreakdown } from './op-counter.js';
import { round } from './stats.js';

/** Launch throughput of a big per-job kick-off against Cloud Run's run-request quota. */
export interface LaunchQuotaResult {
  jobs: number;
  /** The emulator's quota: RunJob calls per window. */
  quotaPerWindow: number;
  /** The quota's window, shortened from a minute so the run stays short. */
  windowMs: number;
  /** What E11 was configured with: the quota less the burst, scaled to a minute. */
  ratePerMinute: number;
  burst: number;
  wallMs: number;
  /** Jobs launched per window, on average over the whole launch. */
  launchedPerWindow: number;
  /** launchedPerWindow over the quota (1 = every window used to the full). */
  ratioToQuota: number;
  /** RunJob calls the quota refused (each retried later: "later", never "failed"). */
  refused: number;
  /** Jobs left Pending (not launched within the retry budget), Errored by the launch. */
  deferred: number;
  failed: number;
  /** Firestore reads and writes of the shared launch budget, per job. */
  budgetOpsPerJob: number;
}

/**
 * Measures a `jobs`-job per-job kick-off launched against the Cloud Run emulator's quota of
 * `quotaPerWindow` RunJob calls per `windowMs` (Cloud Run's "job run requests per minute", with a
 * shortened minute), E11 configured at exactly that rate: the ratio of launches achieved to the quota,
 * and the calls the quota refused on the way.
 */
export async function measureLaunchQuota(
  firestore: Firestore,
  projectId: string,
  options: { jobs: number; quotaPerWindow: number; windowMs: number },
): Promise<LaunchQuotaResult> {
  const { jobs, quotaPerWindow, windowMs } = options;
  const emulator = await startCloudRunEmulator({
    config: { jobs: { 'quota-bench': { command: 'true', maxRetries: 0 } } },
    limits: { runRequestsPerMinute: quotaPerWindow, windowMs },
  });
  // As production.md advises: rate + burst = the quota, the burst being what a real minute's would be
  // (one second's worth, 1/60 of the window).
  const burst = Math.max(1, Math.round(quotaPerWindow / 60));
  const ratePerMinute = Math.floor(((quotaPerWindow - burst) * 60_000) / windowMs);
  const service = new OrchestrationService({
    projectId,
    firestore,
    collectionPrefix: 'bench_quota_',
    cloudRunEndpoint: emulator.endpoint,
    region: 'us-central1', // the emulator serves any region
    publisher: { publish: () => Promise.resolve('unused') }, // no event is published: no topic to check
    launch: { ratePerMinute, burst, concurrency: 64, initialBackoff: 50, maxBackoff: 1_000 },
  });
  const budgetOps = () =>
    Object.entries(opBreakdown())
      .filter(([key]) => key.endsWith(':maintenance'))
      .reduce((sum, [, n]) => sum + n, 0);
  try {
    const opsBefore = budgetOps();
    // Timed from the end of registration (a background kick-off returns then) to the last launch.
    const kickOff = await service.kickOffJob(
      'quota_bench',
      Array.from({ length: jobs }, (_, index) => ({ index })),
      { background: true },
    );
    const start = performance.now();
    const report = await kickOff.launched;
    const wallMs = performance.now() - start;
    const launched = report?.launched ?? 0;
    const launchedPerWindow = (launched * windowMs) / wallMs;
    return {
      jobs,
      quotaPerWindow,
      windowMs,
      ratePerMinute,
      burst,
      wallMs: Math.round(wallMs),
      launchedPerWindow: round(launchedPerWindow, 1),
      ratioToQuota: round(launchedPerWindow / quotaPerWindow, 3),
      refused: emulator.stats().rejectedRuns.runRequestsPerMinute,
      deferred: report?.deferred ?? 0,
      failed: report?.failed ?? 0,
      budgetOpsPerJob: round((budgetOps() - opsBefore) / jobs, 3),
    };
  } finally {
    await service.close();
    await emulator.stop();
  }
}
