import type { Duration } from '@e11/core';

/** How one chaos run is shaped. Every random choice comes from `seed`. */
export interface ChaosConfig {
  seed: number;
  /** How long work is kicked off and faults are injected. */
  faultPhaseMs: number;
  /**
   * Everything then has to end (every job terminal, every event published) with no stretch of this
   * long in which no orchestration ended, and within twice this long in all.
   */
  settleTimeoutMs: number;
  /** Orchestrations kicked off by the test's own backend during the fault phase. */
  orchestrations: number;
  /** Jobs per orchestration, inclusive range. */
  jobsPerOrchestration: [number, number];
  /** Gap between two fault injections, inclusive range (ms). */
  faultGapMs: [number, number];
  /** Longest Cloud Run rejection window (429 / 503). */
  quotaWindowMaxMs: number;
  /** Longest stall of the tasks' Firestore path. */
  firestoreStallMaxMs: number;
  /** Longest stall of the functions' Pub/Sub path; above DEFAULTS.publishRetryAfterMs it outlasts the lease. */
  pubsubStallMaxMs: number;
  /** Longest outage of the functions server between its kill and its restart. */
  functionsDownMaxMs: number;
  /** The heartbeat timeout of every kick-off (the runner beats a third of it). */
  heartbeatTimeout: Duration;
  /** Task processes that may run at once on the Cloud Run emulator. */
  maxConcurrentTasks: number;
}

/** The configuration that runs in `npm test`: a fixed seed, about a minute, on two cores. */
export function shortConfig(seed = 1234): ChaosConfig {
  return {
    seed,
    faultPhaseMs: 20_000,
    settleTimeoutMs: 75_000,
    orchestrations: 6,
    jobsPerOrchestration: [2, 6],
    faultGapMs: [300, 1_200],
    quotaWindowMaxMs: 4_000,
    // Up to beyond the heartbeat timeout: a stalled task is taken over while it still runs.
    firestoreStallMaxMs: 7_000,
    pubsubStallMaxMs: 3_000,
    functionsDownMaxMs: 2_000,
    heartbeatTimeout: '6s',
    maxConcurrentTasks: 6,
  };
}

/** The soak of `npm run chaos`: longer, more work, and windows beyond the leases and the backoff caps. */
export function soakConfig(seed: number, minutes: number): ChaosConfig {
  const faultPhaseMs = Math.max(30_000, minutes * 60_000 - 90_000);
  return {
    seed,
    faultPhaseMs,
    settleTimeoutMs: 180_000,
    // With the orchestrations that killed backends register, about 0.6 jobs a second: under what 8 task
    // slots run on two cores while the faults go on (about one task a second, measured). An overloaded
    // run only measures a growing backlog, not loss.
    orchestrations: Math.max(10, Math.round(faultPhaseMs / 20_000)),
    jobsPerOrchestration: [1, 15],
    faultGapMs: [1_000, 4_000],
    quotaWindowMaxMs: 60_000,
    firestoreStallMaxMs: 8_000,
    pubsubStallMaxMs: 40_000,
    functionsDownMaxMs: 10_000,
    heartbeatTimeout: '6s',
    maxConcurrentTasks: 8,
  };
}
