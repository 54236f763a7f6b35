import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { DEFAULTS } from '@e11/core';
import type { Stack } from '@e11/emulators';
import { OrchestrationService } from '@e11/sdk';
import type { Firestore } from '@google-cloud/firestore';
import type { PubSub } from '@google-cloud/pubsub';

import { round } from './stats.js';

/** One run of the maxParallel benchmark. */
export interface ParallelRun {
  /** The kick-off's maxParallel; null for the baseline without a limit. */
  maxParallel: number | null;
  /** Most jobs running at once, from the ledger the jobs wrote. */
  mostRunning: number;
  /** Cloud Run executions started per job (1: each job launched once). */
  launchesPerJob: number;
  wallMs: number;
}

/** The maxParallel benchmark: a limited kick-off beside the same kick-off without a limit. */
export interface MaxParallelResult {
  jobs: number;
  /** How long each job works. */
  jobMs: number;
  /** The Cloud Run emulator's own cap on task processes at once (the baseline's ceiling). */
  emulatorCap: number;
  limited: ParallelRun;
  baseline: ParallelRun;
  /** limited.mostRunning / maxParallel: 1.00 when the limit is used to the full and never passed. */
  ratio: number;
}

/** Most `start`…`end` spans of the ledger open at once (an end before a start at the same millisecond). */
function mostAtOnce(ledger: string): number {
  const entries = readFileSync(ledger, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [kind, , at] = line.split(' ');
      return { start: kind === 'start', at: Number(at) };
    })
    .sort((a, b) => a.at - b.at || Number(a.start) - Number(b.start));
  let running = 0;
  let most = 0;
  for (const entry of entries) {
    running += entry.start ? 1 : -1;
    most = Math.max(most, running);
  }
  return most;
}

/**
 * Kicks off `jobs` per-job jobs of `bench_span` (the real runner on the stack's Cloud Run emulator)
 * with `maxParallel`, then the same without a limit, and counts from the jobs' own ledger how many ran
 * at once; each run waits for every job's end. Later slots are admitted by the stack's completion
 * function, as in production.
 */
export async function measureMaxParallel(
  stack: Stack,
  clients: { firestore: Firestore; pubsub: PubSub },
  options: { jobs: number; maxParallel: number; jobMs: number; emulatorCap: number },
): Promise<MaxParallelResult> {
  const dir = mkdtempSync(join(tmpdir(), 'e11-bench-parallel-'));
  const service = new OrchestrationService({
    projectId: stack.projectId,
    ...clients,
    cloudRunEndpoint: stack.cloudRun.endpoint,
    region: stack.env.E11_REGION,
    defaultTopic: DEFAULTS.topic,
  });
  const run = async (maxParallel: number | null): Promise<ParallelRun> => {
    const ledger = join(dir, `ledger-${maxParallel ?? 'none'}.txt`);
    const params = Array.from({ length: options.jobs }, (_, index) => ({ ledger, ms: options.jobMs, index }));
    const start = performance.now();
    const { orchestrationId } = await service.kickOffJob(
      'bench_span',
      params,
      maxParallel === null ? {} : { maxParallel },
    );
    await service.getJobResults(orchestrationId, { timeoutMs: 30 * 60_000 });
    const wallMs = performance.now() - start;
    const executions = stack.cloudRun
      .listExecutions()
      .filter((execution) => execution.env.ORCHESTRATION_ID === orchestrationId).length;
    return {
      maxParallel,
      mostRunning: mostAtOnce(ledger),
      launchesPerJob: round(executions / options.jobs, 3),
      wallMs: Math.round(wallMs),
    };
  };
  try {
    const limited = await run(options.maxParallel);
    const baseline = await run(null);
    return {
      jobs: options.jobs,
      jobMs: options.jobMs,
      emulatorCap: options.emulatorCap,
      limited,
      baseline,
      ratio: round(limited.mostRunning / options.maxParallel, 2),
    };
  } finally {
    await service.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
