import { createStore, type EventPublisher } from '@e11/core';
import { createEngine } from '@e11/core/engine';
import { OrchestrationService } from '@e11/sdk';
import type { Firestore } from '@google-cloud/firestore';

import { InProcessLauncher } from './in-process-launcher.js';
import { countOps, opBreakdown } from './op-counter.js';
import { round } from './stats.js';

/** The whole life of N jobs — kick-off, claim, progress, finish, completion — with its costs. */
export interface BookkeepingResult {
  mode: 'per-job' | 'array';
  /** The kick-off's maxParallel (each job's end then admits the next, as `onJobWritten` does); null: none. */
  maxParallel: number | null;
  /** The service's `launch.maxExecutionsInFlight` (every job then goes through the region's budget); null: none. */
  inFlight: number | null;
  jobs: number;
  wallMs: number;
  jobsPerSecond: number;
  readsPerJob: number;
  writesPerJob: number;
  opsPerJob: number;
  /** Cloud Run run-job requests per 1,000 jobs. */
  cloudRunCallsPer1000Jobs: number;
  /** JobCompletedEvents published (must be 1). */
  events: number;
  completed: number;
  /** Operations per job by `kind:collection` (where the reads and writes go). */
  breakdownPerJob: Record<string, number>;
}

/** How a bookkeeping run was limited, for its label: `, maxParallel 50`, `, in-flight budget 50` or ''. */
export function limitLabel(run: Pick<BookkeepingResult, 'maxParallel' | 'inFlight'>): string {
  if (run.inFlight !== null) return `, in-flight budget ${run.inFlight}`;
  return run.maxParallel === null ? '' : `, maxParallel ${run.maxParallel}`;
}

/**
 * Measures 2 and 5: runs one orchestration of `n` jobs through the full bookkeeping path with the
 * runner logic in-process, counting every Firestore read and write and every launch request.
 */
export async function measureBookkeeping(
  firestore: Firestore,
  n: number,
  mode: 'per-job' | 'array',
  maxParallel: number | null = null,
  inFlight: number | null = null,
): Promise<BookkeepingResult> {
  const limit = inFlight === null ? (maxParallel ?? 'all') : `f${inFlight}`;
  const collectionPrefix = `bench_${mode.replace('-', '')}_${n}_${limit}_`;
  const budget = inFlight === null ? {} : { maxExecutionsInFlight: inFlight };
  const store = createStore({ firestore, collectionPrefix });
  let events = 0;
  const publisher: EventPublisher = {
    publish: () => {
      events++;
      return Promise.resolve(String(events));
    },
  };
  const launcher = new InProcessLauncher(firestore, store, publisher);
  const orchestrations = new OrchestrationService({
    firestore,
    collectionPrefix,
    launcher,
    publisher, // events are counted here: no Pub/Sub client, and no topic check, is needed
    launch: { ratePerMinute: 1_000_000, concurrency: 64, ...budget },
  });
  // The admissions `onJobWritten` makes after a limited job's end, through an engine of its own (as the
  // function's), on the same launcher.
  const admitter =
    maxParallel === null && inFlight === null
      ? undefined
      : createEngine({
          firestore,
          collectionPrefix,
          launcher,
          publisher,
          launch: { ratePerMinute: 1_000_000, ...budget },
        });
  if (admitter) launcher.admit = (orchestrationId, counts) => admitter.admitWaiting(orchestrationId, counts);
  // A job holding a slot of the budget frees it for others even when its own orchestration ended.
  launcher.admitOnEveryEnd = inFlight !== null;
  const params = Array.from({ length: n }, (_, index) => ({ index, rows: 1_000 }));
  const before = opBreakdown();
  const start = performance.now();
  const { result, ops } = await countOps(async () => {
    const kickOff = await orchestrations.kickOffJob('bench_sum', params, {
      mode,
      launchConcurrency: 64,
      ...(maxParallel === null ? {} : { maxParallel }),
    });
    await launcher.idle();
    return orchestrations.getOrchestration(kickOff.orchestrationId);
  });
  const wallMs = performance.now() - start;
  const breakdownPerJob = Object.fromEntries(
    Object.entries(opBreakdown())
      .map(([key, count]) => [key, round((count - (before[key] ?? 0)) / n, 2)] as const)
      .filter(([, perJob]) => perJob > 0),
  );
  await orchestrations.close();
  await admitter?.close();
  return {
    mode,
    maxParallel,
    inFlight,
    jobs: n,
    wallMs: round(wallMs, 0),
    jobsPerSecond: round((n / wallMs) * 1000, 0),
    readsPerJob: round(ops.reads / n, 2),
    writesPerJob: round(ops.writes / n, 2),
    opsPerJob: round((ops.reads + ops.writes) / n, 2),
    cloudRunCallsPer1000Jobs: round((launcher.apiCalls / n) * 1000, 1),
    events,
    completed: result.counts.completed,
    breakdownPerJob,
  };
}
