// `npm run bench`: measures E11's costs on the local stack, each side by side with a baseline in the
// same run, and writes bench/results.json and bench/results.md. Not a test: these machines are shared
// and noisy, so the figures are ratios against baselines measured moments apart.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { createFirestore, DEFAULTS } from '@e11/core';
import { createPubSub } from '@e11/core/engine';
import { type Stack, startStack } from '@e11/emulators';

import { type BookkeepingResult, limitLabel, measureBookkeeping } from './bookkeeping.js';
import { measureCompletionLatency } from './completion-latency.js';
import { measureFloor } from './floor.js';
import { measureImageSize } from './image-size.js';
import { type LaunchQuotaResult, measureLaunchQuota } from './launch-quota.js';
import { machineInfo } from './machine.js';
import { type MaxParallelResult, measureMaxParallel } from './max-parallel.js';
import { installOpCounter } from './op-counter.js';
import { measureRegistration } from './registration.js';
import { measureRunnerOverhead } from './runner-overhead.js';
import { renderRunnerSections, runnerTargets } from './runner-report.js';
import { round } from './stats.js';

const BENCH_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
const quick = process.env.E11_BENCH_QUICK === '1';
const sizes = quick ? [100, 1_000] : [100, 1_000, 10_000];
/** Opt-in (it takes minutes to hours): one array-mode orchestration of 100,000 jobs. */
const huge = process.env.E11_BENCH_100K === '1' ? 100_000 : undefined;
const log = (line: string) => process.stderr.write(`${line}\n`);
/** The Cloud Run emulator's cap on task processes at once: above section 8's limit, so E11's binds. */
const PARALLEL_CAP = 12;

installOpCounter();
log(`E11 bench${quick ? ' (quick: no 10,000-job runs)' : ''} — starting the local stack…`);
let stack: Stack;
try {
  stack = await startStack({
    projectId: 'demo-e11-bench',
    cloudRun: {
      jobs: {
        noop: { command: 'true' },
        // The real runner with the bench job classes (section 8).
        'bench-span': {
          command: process.execPath,
          args: [fileURLToPath(new URL('./runner-entrypoint.js', import.meta.url))],
          maxRetries: 0,
        },
      },
    },
    cloudRunOptions: { maxConcurrentTasks: PARALLEL_CAP },
    sweepIntervalMs: 0,
    onStatus: (line) => log(`  ${line}`),
  });
} catch (error) {
  process.stderr.write(
    `e11 bench: the local stack could not start: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
}
const firestore = createFirestore({ projectId: stack.projectId, emulatorHost: stack.firestoreHost });
const pubsub = createPubSub({ projectId: stack.projectId, emulatorHost: stack.pubsubHost });
let exitCode = 0;
try {
  const machine = machineInfo();
  log('1/8 registration throughput (batched) vs one awaited set() per job…');
  const registration = [];
  for (const n of sizes) {
    registration.push(await measureRegistration(firestore, n));
    log(`  ${n}: ${JSON.stringify(registration.at(-1))}`);
  }

  log('2/8 + 5/8 bookkeeping per job, per-job mode vs array mode (runner logic in-process)…');
  const bookkeeping: BookkeepingResult[] = [];
  for (const n of sizes) {
    for (const mode of ['per-job', 'array'] as const) {
      bookkeeping.push(await measureBookkeeping(firestore, n, mode));
      log(`  ${mode} ${n}: ${JSON.stringify(bookkeeping.at(-1))}`);
    }
  }
  // The same life with maxParallel: each job's end also admits the next, as onJobWritten does.
  log('2/8 (maxParallel) 1000 per-job jobs with maxParallel 50: the admission on each job end…');
  bookkeeping.push(await measureBookkeeping(firestore, 1_000, 'per-job', 50));
  log(`  per-job 1000 maxParallel 50: ${JSON.stringify(bookkeeping.at(-1))}`);
  // The same life through the region's executions-in-flight budget: every end runs a budget round.
  log('2/8 (in-flight budget) 1000 per-job jobs under a budget of 50: a budget round on each job end…');
  bookkeeping.push(await measureBookkeeping(firestore, 1_000, 'per-job', null, 50));
  log(`  per-job 1000 in-flight budget 50: ${JSON.stringify(bookkeeping.at(-1))}`);
  if (huge !== undefined) {
    log(`2/8 (E11_BENCH_100K) array mode, ${huge} jobs in one orchestration…`);
    bookkeeping.push(await measureBookkeeping(firestore, huge, 'array'));
    log(`  array ${huge}: ${JSON.stringify(bookkeeping.at(-1))}`);
  }

  log('3/8 completion-event latency vs the raw floor…');
  const floor = await measureFloor(firestore, pubsub);
  const latency = await measureCompletionLatency(firestore, pubsub, { topic: DEFAULTS.topic });
  log(`  floor ${JSON.stringify(floor)}\n  e11 ${JSON.stringify(latency)}`);

  log('4/8 runner overhead vs a bare Node process…');
  const overhead = await measureRunnerOverhead(firestore, {
    projectId: stack.projectId,
    firestoreHost: stack.firestoreHost,
  });
  log(`  ${JSON.stringify(overhead)}`);

  log('6/8 job image: installed size of the runner and its production dependencies…');
  const image = await measureImageSize();
  log(`  ${JSON.stringify(image)}`);

  const quotaJobs = quick ? 500 : 2_000;
  log(`7/8 launch pacing: ${quotaJobs} per-job jobs against Cloud Run's run-request quota (a 3 s "minute")…`);
  const launchQuota = await measureLaunchQuota(firestore, stack.projectId, {
    jobs: quotaJobs,
    quotaPerWindow: 100,
    windowMs: 3_000,
  });
  log(`  ${JSON.stringify(launchQuota)}`);

  const parallelJobs = quick ? 30 : 60;
  log(`8/8 maxParallel: ${parallelJobs} per-job jobs with maxParallel 6, beside the same without a limit…`);
  const maxParallel = await measureMaxParallel(
    stack,
    { firestore, pubsub },
    {
      jobs: parallelJobs,
      maxParallel: 6,
      // Long beside a task's start: the jobs at once are then the limit's doing, not the starts'.
      jobMs: 3_000,
      emulatorCap: PARALLEL_CAP,
    },
  );
  log(`  ${JSON.stringify(maxParallel)}`);

  const largest = sizes.at(-1) ?? 0;
  const opsOf = (mode: string, n: number) =>
    bookkeeping.find((b) => b.mode === mode && b.jobs === n && b.maxParallel === null && b.inFlight === null)
      ?.opsPerJob ?? NaN;
  const limitedRun = bookkeeping.find((b) => b.maxParallel !== null);
  const admissionOps = round((limitedRun?.opsPerJob ?? NaN) - opsOf('per-job', 1_000), 2);
  const hugeRun = bookkeeping.find((b) => b.jobs === huge);
  const hugeRatio = hugeRun ? round(hugeRun.opsPerJob / opsOf('array', largest), 3) : NaN;
  const flatness = (mode: string) =>
    round(Math.max(...sizes.map((n) => opsOf(mode, n))) / Math.min(...sizes.map((n) => opsOf(mode, n))), 3);
  const registrationRatio = registration.find((r) => r.jobs === largest)?.ratio ?? NaN;
  const arrayLargest = bookkeeping.find((b) => b.mode === 'array' && b.jobs === largest);
  const latencyRatio = round(latency.medianMs / floor.floorMs, 2);
  const targets = [
    {
      target: `registration ≥ 20× naive at ${largest}`,
      value: `${registrationRatio}×`,
      met: registrationRatio >= 20,
    },
    ...(['per-job', 'array'] as const).map((mode) => ({
      target: `ops per job ≤ 10, ${mode} mode (every size)`,
      value: `max ${Math.max(...sizes.map((n) => opsOf(mode, n)))}`,
      met: sizes.every((n) => opsOf(mode, n) <= 10),
    })),
    ...(hugeRun
      ? [
          {
            target: `${huge} jobs in one array orchestration: ops per job within ±10% of ${largest}`,
            value: `${hugeRun.opsPerJob} (${hugeRatio}×) in ${round(hugeRun.wallMs / 60_000, 1)} min`,
            met: Math.abs(hugeRatio - 1) <= 0.1,
          },
          { target: `${huge} jobs: one event`, value: `${hugeRun.events}`, met: hugeRun.events === 1 },
        ]
      : []),
    {
      target: 'ops per job flat from 100 to max (±10%), per-job mode',
      value: `max/min ${flatness('per-job')}`,
      met: flatness('per-job') <= 1.1,
    },
    {
      target: 'ops per job flat from 100 to max (±10%), array mode',
      value: `max/min ${flatness('array')}`,
      met: flatness('array') <= 1.1,
    },
    {
      target: `array mode = 1 Cloud Run call per ${largest} jobs`,
      value: `${round(((arrayLargest?.cloudRunCallsPer1000Jobs ?? NaN) * largest) / 1000, 1)} call(s)`,
      met:
        arrayLargest !== undefined &&
        Math.round((arrayLargest.cloudRunCallsPer1000Jobs * largest) / 1000) === Math.ceil(largest / 10_000),
    },
    { target: 'event latency ≤ 3× the raw floor', value: `${latencyRatio}×`, met: latencyRatio <= 3 },
    ...runnerTargets(overhead, image),
    {
      target: `launches over Cloud Run's quota ≥ 0.95 (${launchQuota.jobs} per-job jobs, E11 at the quota less its burst)`,
      value: `${launchQuota.ratioToQuota} (${launchQuota.refused} refused, retried)`,
      met: launchQuota.ratioToQuota >= 0.95 && launchQuota.deferred === 0 && launchQuota.failed === 0,
    },
    {
      target: 'Firestore ops per job added by the shared launch budget ≤ 2',
      value: `${launchQuota.budgetOpsPerJob}`,
      met: launchQuota.budgetOpsPerJob <= 2,
    },
    {
      target: 'Firestore ops per job added by maxParallel admission ≤ 2 (1,000 per-job jobs at 50 vs none)',
      value: `${admissionOps} (${limitedRun?.opsPerJob} vs ${opsOf('per-job', 1_000)})`,
      met: admissionOps <= 2,
    },
    {
      target: 'most jobs running at once / maxParallel = 1.00 (never above)',
      value: `${maxParallel.ratio} (${maxParallel.limited.mostRunning} of ${maxParallel.limited.maxParallel}; without a limit ${maxParallel.baseline.mostRunning})`,
      met: maxParallel.ratio === 1,
    },
    {
      target: 'maxParallel: each job launched once',
      value: `${maxParallel.limited.launchesPerJob} launches per job`,
      met: maxParallel.limited.launchesPerJob === 1,
    },
    {
      target: 'one event per orchestration end',
      value: `${bookkeeping.map((b) => b.events).join(',')}`,
      met: bookkeeping.every((b) => b.events === 1),
    },
  ];
  const results = {
    machine,
    quick,
    registration,
    bookkeeping,
    latency: { floor, e11: latency, ratio: latencyRatio },
    runnerOverhead: overhead,
    image,
    launchQuota,
    maxParallel,
    targets,
  };
  writeFileSync(join(BENCH_DIR, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  const table = renderMarkdown(results);
  writeFileSync(join(BENCH_DIR, 'results.md'), table);
  process.stdout.write(table);
  if (targets.some((t) => !t.met)) log('Some targets were not met (see the table).');
} catch (error) {
  process.stderr.write(
    `e11 bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  exitCode = 1;
} finally {
  await pubsub.close();
  await firestore.terminate();
  await stack.stop();
}
process.exit(exitCode);

/** What the region's in-flight budget adds per job, beside the same 1,000 per-job jobs without a limit. */
function budgetCost(bookkeeping: BookkeepingResult[]): string[] {
  const budget = bookkeeping.find((b) => b.inFlight !== null);
  const plain = bookkeeping.find(
    (b) => b.mode === 'per-job' && b.jobs === budget?.jobs && b.maxParallel === null && b.inFlight === null,
  );
  if (!budget || !plain) return [];
  const added = round(budget.opsPerJob - plain.opsPerJob, 2);
  return [
    `The in-flight budget (\`launch.maxExecutionsInFlight: ${budget.inFlight}\`, opt-in) adds ${added} ops per job ` +
      `(${budget.opsPerJob} vs ${plain.opsPerJob}): a slot document written and deleted per job, and per round the ` +
      'budget read, counted and written, and each waiting group read and counted.',
    '',
  ];
}

function renderMarkdown(r: {
  machine: ReturnType<typeof machineInfo>;
  registration: Awaited<ReturnType<typeof measureRegistration>>[];
  bookkeeping: BookkeepingResult[];
  latency: {
    floor: Awaited<ReturnType<typeof measureFloor>>;
    e11: Awaited<ReturnType<typeof measureCompletionLatency>>;
    ratio: number;
  };
  runnerOverhead: Awaited<ReturnType<typeof measureRunnerOverhead>>;
  image: Awaited<ReturnType<typeof measureImageSize>>;
  launchQuota: LaunchQuotaResult;
  maxParallel: MaxParallelResult;
  targets: { target: string; value: string; met: boolean }[];
}): string {
  const q = r.launchQuota;
  const p = r.maxParallel;
  const m = r.machine;
  const lines = [
    `Measured ${m.date} on ${m.cores} cores (${m.cpuModel}), ${m.memoryGiB} GiB, Node ${m.node}, ${m.platform}; Firestore and Pub/Sub emulators.`,
    '',
    '**1. Kick-off registration** (orchestration + params in chunks of up to 100 sets + counter shards; naive: one job document per job)',
    '',
    '| jobs | naive: one awaited set() per job | E11: parallel batches (median of 5) | ratio |',
    '|---:|---:|---:|---:|',
    ...r.registration.map(
      (x) =>
        `| ${x.jobs} | ${x.naiveMs} ms (${x.naiveJobsPerSecond}/s) | ${x.e11Ms} ms (${x.e11JobsPerSecond}/s) | ${x.ratio}× |`,
    ),
    '',
    '**2 and 5. Whole bookkeeping path per job** (kick-off, claim, progress, finish, completion check; runner logic in-process)',
    '',
    '| mode | jobs | wall time | jobs/s | reads/job | writes/job | ops/job | Cloud Run calls per 1,000 jobs | events |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...r.bookkeeping.map(
      (x) =>
        `| ${x.mode}${limitLabel(x)} | ${x.jobs} | ${(x.wallMs / 1000).toFixed(1)} s | ${x.jobsPerSecond} | ${x.readsPerJob} | ${x.writesPerJob} | ${x.opsPerJob} | ${x.cloudRunCallsPer1000Jobs} | ${x.events} |`,
    ),
    '',
    'Where they go, per job (`kind:collection`; kinds: write, get, query, aggregate, listen):',
    '',
    ...r.bookkeeping.map(
      (x) =>
        `- ${x.mode}${limitLabel(x).replace(',', '')} ${x.jobs}: ${Object.entries(x.breakdownPerJob)
          .map(([key, perJob]) => `${key} ${perJob}`)
          .join(', ')}`,
    ),
    '',
    ...budgetCost(r.bookkeeping),
    '**3. Completion-event latency** (last job terminal → event received by a subscriber; median of ' +
      `${r.latency.e11.samples})`,
    '',
    '| raw floor: Firestore write → listener | + Pub/Sub publish → receive | = floor | E11 (p90) | ratio |',
    '|---:|---:|---:|---:|---:|',
    `| ${r.latency.floor.firestoreWriteToListenerMs} ms | ${r.latency.floor.publishToReceiveMs} ms | ${r.latency.floor.floorMs} ms | ${r.latency.e11.medianMs} ms (${r.latency.e11.p90Ms} ms) | ${r.latency.ratio}× |`,
    '',
    ...renderRunnerSections(r.runnerOverhead, r.image),
    `**7. Launch pacing against Cloud Run's run-request quota** (the Cloud Run emulator refuses RunJob past ${q.quotaPerWindow} calls in any ${q.windowMs / 1000} s, a shortened minute; E11 set to the quota less its burst, ${q.ratePerMinute}/min and ${q.burst}; one per-job kick-off)`,
    '',
    '| jobs | quota per window | launched per window | ratio | refused by the quota (retried) | left Pending | Errored | budget ops/job |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|',
    `| ${q.jobs} | ${q.quotaPerWindow} | ${q.launchedPerWindow} | ${q.ratioToQuota} | ${q.refused} | ${q.deferred} | ${q.failed} | ${q.budgetOpsPerJob} |`,
    '',
    `**8. maxParallel** (${p.jobs} per-job jobs of ${p.jobMs / 1000} s each, the real runner on the Cloud Run emulator, whose own cap is ${p.emulatorCap} tasks at once; slots after the first are admitted by the completion function; most running at once counted from a ledger the jobs write)`,
    '',
    '| kick-off | most running at once | launches per job | wall time |',
    '|---|---:|---:|---:|',
    ...[p.limited, p.baseline].map(
      (x) =>
        `| ${x.maxParallel === null ? 'no limit' : `maxParallel ${x.maxParallel}`} | ${x.mostRunning} | ${x.launchesPerJob} | ${(x.wallMs / 1000).toFixed(1)} s |`,
    ),
    '',
    '**Targets**',
    '',
    '| target | measured | met |',
    '|---|---:|:---:|',
    ...r.targets.map((t) => `| ${t.target} | ${t.value} | ${t.met ? 'yes' : '**no**'} |`),
    '',
  ];
  return lines.join('\n');
}
