import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';

import {
  buildTaskEnv,
  createStore,
  DEFAULTS,
  defaultJobPolicy,
  encodeParams,
  jobIdFor,
  registerOrchestration,
  TaskEnvName,
} from '@e11/core';
import type { Firestore } from '@google-cloud/firestore';

import { median, round } from './stats.js';

/** Runner overhead against a bare Node process doing the same Firestore read and write. */
export interface RunnerOverheadResult {
  runs: number;
  /** Process start → run() entered (median ms), runner and bare. */
  startToRunMs: { runner: number; bare: number; ratio: number };
  /** run() returned → process exit (median ms). */
  returnToExitMs: { runner: number; bare: number; ratio: number };
  /** Whole process, start → exit (median ms). */
  totalMs: { runner: number; bare: number; ratio: number };
  /** Peak resident set size (max over runs, MB). */
  peakRssMb: { runner: number; bare: number; ratio: number };
}

interface Timing {
  startToRun: number;
  returnToExit: number;
  total: number;
  rssKb: number;
}

function timeProcess(script: string, env: Record<string, string>): Promise<Timing> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, [script], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('exit', (code) => {
      const exited = Date.now();
      const value = (name: string) => Number(new RegExp(`${name} (\\d+)`).exec(stderr)?.[1]);
      const entered = value('RUN_ENTERED');
      const returned = value('RUN_RETURNED');
      if (code !== 0 || !entered || !returned)
        return reject(new Error(`${script} exited ${code}: ${stderr.slice(-500)}`));
      resolve({
        startToRun: entered - started,
        returnToExit: exited - returned,
        total: exited - started,
        rssKb: value('MAX_RSS_KB'),
      });
    });
  });
}

const ratio = (a: number, b: number) => round(a / b, 2);

/**
 * Measures 4: starts the real runner (`runE11Job`) `runs` times on registered jobs and a bare Node
 * process the same number of times (one Firestore read, one write), alternating, and compares
 * start → run() and run() → exit, plus peak RSS.
 */
export async function measureRunnerOverhead(
  firestore: Firestore,
  env: { projectId: string; firestoreHost: string },
  runs = 10,
): Promise<RunnerOverheadResult> {
  const collectionPrefix = 'bench_overhead_';
  const store = createStore({ firestore, collectionPrefix });
  const orchestrationId = randomUUID();
  const jobIds = Array.from({ length: runs }, (_, index) => jobIdFor(orchestrationId, index));
  await registerOrchestration(store, {
    orchestration: {
      id: orchestrationId,
      jobName: 'bench_sum',
      service: 'bench-sum',
      tags: {},
      tenant: null,
      topic: DEFAULTS.topic,
      mode: 'per-job',
      policy: defaultJobPolicy(),
      idempotencyKey: null,
      sensitiveKeys: [],
      deadlineAt: null,
    },
    params: jobIds.map((_, index) => ({ index, rows: 1_000 })),
  });
  await Promise.all(
    jobIds.map((id) =>
      firestore.doc(`bench_bare/${id}`).set({ params: encodeParams({ rows: 1_000 }), status: 'Pending' }),
    ),
  );
  const common = { FIRESTORE_EMULATOR_HOST: env.firestoreHost, GOOGLE_CLOUD_PROJECT: env.projectId };
  const runner: Timing[] = [];
  const bare: Timing[] = [];
  const runnerScript = fileURLToPath(new URL('./runner-entrypoint.js', import.meta.url));
  const bareScript = fileURLToPath(new URL('./bare-task.js', import.meta.url));
  for (const [index, jobId] of jobIds.entries()) {
    runner.push(
      await timeProcess(runnerScript, {
        ...common,
        ...buildTaskEnv({
          jobName: 'bench_sum',
          orchestrationId,
          job: { id: jobId, index },
          collectionPrefix,
        }),
        E11_BENCH_TIMESTAMPS: '1',
        E11_LOG_LEVEL: 'warn',
      }),
    );
    bare.push(await timeProcess(bareScript, { ...common, [TaskEnvName.jobId]: jobId }));
  }
  const m = (list: Timing[], key: keyof Timing) => round(median(list.map((t) => t[key])), 0);
  return {
    runs,
    startToRunMs: {
      runner: m(runner, 'startToRun'),
      bare: m(bare, 'startToRun'),
      ratio: ratio(m(runner, 'startToRun'), m(bare, 'startToRun')),
    },
    returnToExitMs: {
      runner: m(runner, 'returnToExit'),
      bare: m(bare, 'returnToExit'),
      ratio: ratio(m(runner, 'returnToExit'), m(bare, 'returnToExit')),
    },
    totalMs: {
      runner: m(runner, 'total'),
      bare: m(bare, 'total'),
      ratio: ratio(m(runner, 'total'), m(bare, 'total')),
    },
    peakRssMb: {
      runner: round(Math.max(...runner.map((t) => t.rssKb)) / 1024, 1),
      bare: round(Math.max(...bare.map((t) => t.rssKb)) / 1024, 1),
      ratio: ratio(Math.max(...runner.map((t) => t.rssKb)), Math.max(...bare.map((t) => t.rssKb))),
    },
  };
}
