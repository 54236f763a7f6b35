import type { KickOffOptions } from '@e11/sdk';

import type { ChaosParams } from '../fixtures/src/chaos-jobs.js';
import { chaosPipeline } from '../fixtures/src/chaos-pipelines.js';

import type { ChaosConfig } from './chaos-config.js';
import { CHAOS_JOB, type ChaosStack } from './chaos-stack.js';
import type { Random } from './random.js';

/** What the harness asked for: the params of each orchestration, by orchestration id or by tag. */
export interface Expected {
  /** Orchestrations kicked off by the test process, by id. */
  byId: Map<string, ChaosParams[]>;
  /** Orchestrations kicked off by backend child processes, by their `chaosKickoff` tag. */
  byTag: Map<string, ChaosParams[]>;
  /** Pipelines started by the test process: the params of their fan-out stage, by pipeline id. */
  pipelines: Map<string, ChaosParams[]>;
}

/** The concurrency key some chaos orchestrations share, and its limit. */
export const CHAOS_KEY = 'chaos-db';
export const CHAOS_KEY_LIMIT = 3;

/** The params of one seeded orchestration (about one job in ten fails by design). */
export function chaosParams(random: Random, config: ChaosConfig): ChaosParams[] {
  const [min, max] = config.jobsPerOrchestration;
  return Array.from({ length: random.int(min, max) }, (_, index) => ({
    index,
    steps: random.int(2, 5),
    stepMs: random.int(50, 300),
    fail: random.chance(0.1),
  }));
}

/** The kick-off options of the chaos orchestrations (short heartbeat, some array mode). */
export function chaosKickOffOptions(
  random: Random,
  config: ChaosConfig,
  tags: Record<string, string> = {},
): KickOffOptions {
  return {
    mode: random.chance(0.25) ? 'array' : 'per-job',
    heartbeatTimeout: config.heartbeatTimeout,
    retry: { maxAttempts: 6, initialBackoff: '50ms', maxBackoff: '500ms' },
    background: true,
    tags,
    // Some orchestrations run a few jobs at a time (their later jobs are launched by job ends), alone
    // or sharing a concurrency key.
    ...(random.chance(0.3) ? { maxParallel: random.int(1, 3) } : {}),
    ...(random.chance(0.3) ? { concurrency: { key: CHAOS_KEY, limit: CHAOS_KEY_LIMIT } } : {}),
  };
}

/** Starts one seeded `chaos-pipeline` from the test process and records what it asked for. */
export async function startPipelineOne(
  chaos: ChaosStack,
  random: Random,
  config: ChaosConfig,
  expected: Expected,
): Promise<void> {
  const params = chaosParams(random, config);
  const { pipelineId } = await chaos.service.startPipeline(chaosPipeline, { params });
  expected.pipelines.set(pipelineId, params);
}

/** Kicks off one seeded orchestration from the test process and records what it asked for. */
export async function kickOffOne(
  chaos: ChaosStack,
  random: Random,
  config: ChaosConfig,
  expected: Expected,
): Promise<void> {
  const params = chaosParams(random, config);
  const { orchestrationId } = await chaos.service.kickOffJob(
    CHAOS_JOB,
    params,
    chaosKickOffOptions(random, config),
  );
  expected.byId.set(orchestrationId, params);
}
