import { randomUUID } from 'node:crypto';

import {
  createStore,
  DEFAULTS,
  defaultJobPolicy,
  encodeParams,
  type NewJobDoc,
  registerOrchestration,
  shardCountFor,
} from '@e11/core';
import { type Firestore, Timestamp } from '@google-cloud/firestore';

import { median, round, since } from './stats.js';

/** Registration throughput of one size: ours (batched) against one awaited set() per job. */
export interface RegistrationResult {
  jobs: number;
  naiveMs: number;
  /** Median of the E11 runs. */
  e11Ms: number;
  /** Every E11 run, in order. */
  e11RunsMs: number[];
  naiveJobsPerSecond: number;
  e11JobsPerSecond: number;
  /** e11 throughput ÷ naive throughput. */
  ratio: number;
}

const policy = defaultJobPolicy();
/** E11 registrations per size; the median is reported. */
const E11_RUNS = 5;

function params(n: number) {
  return Array.from({ length: n }, (_, index) => ({
    index,
    file: `gs://bench/part-${index}.csv`,
    rows: 1_000,
  }));
}

/**
 * Measures 1 — kick-off registration throughput: `registerOrchestration` (orchestration, params in
 * chunk documents of up to 100 sets, counter shards, in parallel batches; a job's own document is
 * written when its task claims it) against the naive baseline of one awaited `set()` of a job document
 * per job, same emulator, same run.
 */
export async function measureRegistration(firestore: Firestore, n: number): Promise<RegistrationResult> {
  const store = createStore({ firestore, collectionPrefix: 'bench_reg_' });
  const list = params(n);

  // The baseline registers the same jobs the naive way: one awaited set() of a job document (the
  // document a job gets at its first write, see newJobDoc) per job.
  const naiveStart = performance.now();
  const naiveId = randomUUID();
  const naiveJobs = firestore.collection(`bench_naive_orchestrations/${naiveId}/jobs`);
  const createdAt = Timestamp.now();
  await firestore
    .doc(`bench_naive_orchestrations/${naiveId}`)
    .set({ total: n, jobName: 'bench_job', createdAt });
  for (const [index, p] of list.entries()) {
    const job: NewJobDoc = {
      jobName: 'bench_job',
      index,
      shard: index % shardCountFor(n),
      params: encodeParams(p),
      status: 'Pending',
      createdAt,
      updatedAt: createdAt,
    };
    await naiveJobs.doc(randomUUID()).set(job);
  }
  const naiveMs = since(naiveStart);

  // E11's run is short, so one emulator GC pause would dominate it: the median of E11_RUNS runs
  // (each a new orchestration) against the one long naive run, which averages such pauses itself.
  const e11Runs: number[] = [];
  for (let run = 0; run < E11_RUNS; run++) {
    const e11Start = performance.now();
    await registerOrchestration(store, {
      orchestration: {
        id: randomUUID(),
        jobName: 'bench_job',
        service: 'bench-job',
        tags: {},
        tenant: null,
        topic: DEFAULTS.topic,
        mode: 'per-job',
        policy,
        idempotencyKey: null,
        sensitiveKeys: [],
        deadlineAt: null,
      },
      params: list,
    });
    e11Runs.push(since(e11Start));
  }
  const e11Ms = median(e11Runs);
  const naiveJobsPerSecond = (n / naiveMs) * 1000;
  const e11JobsPerSecond = (n / e11Ms) * 1000;
  return {
    jobs: n,
    naiveMs: round(naiveMs, 0),
    e11Ms: round(e11Ms, 0),
    e11RunsMs: e11Runs.map((ms) => round(ms, 0)),
    naiveJobsPerSecond: round(naiveJobsPerSecond, 0),
    e11JobsPerSecond: round(e11JobsPerSecond, 0),
    ratio: round(e11JobsPerSecond / naiveJobsPerSecond, 1),
  };
}
