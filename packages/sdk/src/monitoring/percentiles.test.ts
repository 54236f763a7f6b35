import { describe, expect, it } from 'vitest';

import { durationStats, nearestRank } from './percentiles.js';

describe('duration percentiles', () => {
  it('use the nearest rank, so every percentile is a measured value', () => {
    const values = Array.from({ length: 100 }, (_, i) => (i + 1) * 10);
    expect(durationStats(values)).toEqual({ p50: 500, p90: 900, p99: 990, max: 1000, samples: 100 });
  });

  it('sort their input without changing it', () => {
    const values = [30, 10, 20];
    expect(durationStats(values)).toEqual({ p50: 20, p90: 30, p99: 30, max: 30, samples: 3 });
    expect(values).toEqual([30, 10, 20]);
  });

  it('give one value for every percentile of a single sample', () => {
    expect(durationStats([42])).toEqual({ p50: 42, p90: 42, p99: 42, max: 42, samples: 1 });
    expect(nearestRank([42], 1)).toBe(42);
  });

  it('are null for no samples', () => {
    expect(durationStats([])).toBeNull();
  });
});
