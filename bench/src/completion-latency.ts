import { randomUUID } from 'node:crypto';

import {
  claimJob,
  completeJob,
  createStore,
  defaultJobPolicy,
  jobIdFor,
  registerOrchestration,
} from '@e11/core';
import type { Firestore } from '@google-cloud/firestore';
import type { PubSub } from '@google-cloud/pubsub';

import { median, round } from './stats.js';

/** Last job terminal → JobCompletedEvent received, through the real trigger path. */
export interface CompletionLatencyResult {
  samples: number;
  jobsPerOrchestration: number;
  /** Median ms from the last job's completion commit to the subscriber receiving the event. */
  medianMs: number;
  p90Ms: number;
}

const policy = defaultJobPolicy();

/**
 * Measures 3: `samples` orchestrations of `jobs` jobs each; all but the last job are completed, then
 * the clock starts, the last job completes (the runner's transaction), and stops when a streaming
 * subscriber receives the event — Firestore trigger → bridge → Functions Framework → onJobWritten →
 * Pub/Sub, exactly the local stack's path.
 */
export async function measureCompletionLatency(
  firestore: Firestore,
  pubsub: PubSub,
  options: { topic: string; samples?: number; jobs?: number },
): Promise<CompletionLatencyResult> {
  const samples = options.samples ?? 15;
  const jobs = options.jobs ?? 5;
  const store = createStore({ firestore });
  const [subscription] = await pubsub
    .topic(options.topic)
    .createSubscription(`bench-latency-${randomUUID()}`);
  const waiting = new Map<string, (at: number) => void>();
  subscription.on('message', (message: { attributes: Record<string, string>; ack(): void }) => {
    const at = performance.now();
    message.ack();
    waiting.get(message.attributes.orchestrationId ?? '')?.(at);
  });
  const latencies: number[] = [];
  try {
    for (let sample = 0; sample < samples; sample++) {
      const id = randomUUID();
      const jobIds = Array.from({ length: jobs }, (_, index) => jobIdFor(id, index));
      await registerOrchestration(store, {
        orchestration: {
          id,
          jobName: 'bench_sum',
          service: 'bench-sum',
          tags: { bench: 'latency' },
          tenant: null,
          topic: options.topic,
          mode: 'per-job',
          policy,
          idempotencyKey: null,
          sensitiveKeys: [],
          deadlineAt: null,
        },
        params: jobIds.map((_, index) => ({ index })),
      });
      for (const jobId of jobIds) {
        await claimJob(store, {
          orchestrationId: id,
          jobId,
          claim: { id: jobId, executionName: null, taskIndex: null, taskAttempt: null },
          maxAttempts: 1,
          heartbeatTimeoutMs: 60_000,
        });
      }
      for (const jobId of jobIds.slice(0, -1))
        await completeJob(store, { orchestrationId: id, jobId, claimId: jobId, result: 1 });
      const received = new Promise<number>((resolve) => waiting.set(id, resolve));
      const last = jobIds.at(-1) as string;
      const start = performance.now();
      await completeJob(store, { orchestrationId: id, jobId: last, claimId: last, result: 1 });
      const timeout = new Promise<number>((_, reject) =>
        setTimeout(() => reject(new Error('no event within 20 s')), 20_000).unref(),
      );
      latencies.push((await Promise.race([received, timeout])) - start);
      waiting.delete(id);
    }
  } finally {
    await subscription.close();
    await subscription.delete();
  }
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    samples,
    jobsPerOrchestration: jobs,
    medianMs: round(median(latencies), 1),
    p90Ms: round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.9))] ?? NaN, 1),
  };
}
