/** Duration statistics of a sample, in milliseconds. */
export interface DurationStats {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** Size of the sample they were computed from. */
  samples: number;
}

/** The nearest-rank percentile `p` (0 < p ≤ 100) of an ascending-sorted, non-empty list. */
export function nearestRank(sorted: readonly number[], p: number): number {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1] ?? 0;
}

/** p50/p90/p99/max of `values` (nearest-rank), or null for an empty sample. */
export function durationStats(values: readonly number[]): DurationStats | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return {
    p50: nearestRank(sorted, 50),
    p90: nearestRank(sorted, 90),
    p99: nearestRank(sorted, 99),
    max: sorted[sorted.length - 1] ?? 0,
    samples: sorted.length,
  };
}
