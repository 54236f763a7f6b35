import type { RunLimitName } from './interfaces.js';

/** {@link CloudRunLimits} validated, with every default filled in (0 = no limit). */
export interface CompiledRunLimits {
  runRequestsPerMinute: number;
  maxRunningExecutions: number;
  windowMs: number;
}

/** Where a RunJob call is counted: Cloud Run's quotas are per project and region. */
export interface RunRegion {
  project: string;
  location: string;
}

/** The messages Cloud Run answers with (HTTP 429, gRPC RESOURCE_EXHAUSTED), by the limit hit. */
export const RUN_LIMIT_MESSAGES: Record<RunLimitName, string> = {
  runRequestsPerMinute:
    "Quota exceeded for quota metric 'Job run requests' and limit 'Job run requests per minute per region' " +
    "of service 'run.googleapis.com'.",
  maxRunningExecutions:
    "Quota exceeded for quota metric 'Running job executions' and limit 'Running job executions per region' " +
    "of service 'run.googleapis.com'.",
};

/**
 * Cloud Run's limits on starting executions, per project and region: a "job run requests per minute"
 * quota (a sliding window of `windowMs`; only accepted requests count) and a cap on executions not yet
 * ended. {@link admit} is asked before each RunJob that would start an execution: it answers which limit
 * the call would exceed, or records the call and answers undefined.
 */
export class RunLimits {
  /** Accept times per region, oldest first, within the last window. */
  private readonly accepted = new Map<string, number[]>();
  private readonly rejected: Record<RunLimitName, number> = {
    runRequestsPerMinute: 0,
    maxRunningExecutions: 0,
  };

  constructor(
    private readonly limits: CompiledRunLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Admits one run request of `region`, whose executions not yet ended number `running`; returns the
   * limit it would exceed instead (nothing is recorded then).
   */
  admit(region: RunRegion, running: number): RunLimitName | undefined {
    const { runRequestsPerMinute, maxRunningExecutions } = this.limits;
    if (maxRunningExecutions > 0 && running >= maxRunningExecutions) {
      return this.reject('maxRunningExecutions');
    }
    const key = `${region.project}/${region.location}`;
    if (runRequestsPerMinute === 0) return undefined;
    const times = this.recent(key);
    if (times.length >= runRequestsPerMinute) return this.reject('runRequestsPerMinute');
    times.push(this.now());
    this.accepted.set(key, times);
    return undefined;
  }

  /** Requests turned away so far, by limit. */
  rejections(): Record<RunLimitName, number> {
    return { ...this.rejected };
  }

  private reject(limit: RunLimitName): RunLimitName {
    this.rejected[limit] += 1;
    return limit;
  }

  /** The region's accept times still inside the window (older ones dropped). */
  private recent(key: string): number[] {
    const times = this.accepted.get(key) ?? [];
    const since = this.now() - this.limits.windowMs;
    let drop = 0;
    while (drop < times.length && (times[drop] ?? 0) <= since) drop += 1;
    return drop === 0 ? times : times.slice(drop);
  }
}
