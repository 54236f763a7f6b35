import { describe, expect, it } from 'vitest';

import { contiguousRuns } from './contiguous-runs.js';

const jobs = (...indices: number[]) => indices.map((index) => ({ index }));
const indicesOf = (runs: { index: number }[][]) => runs.map((run) => run.map((job) => job.index));

describe('contiguousRuns', () => {
  it('keeps consecutive indices together and splits at gaps, in index order', () => {
    expect(indicesOf(contiguousRuns(jobs(7, 0, 1, 2, 5, 6, 9), 100))).toEqual([[0, 1, 2], [5, 6, 7], [9]]);
  });

  it('splits a run longer than the largest execution', () => {
    expect(indicesOf(contiguousRuns(jobs(0, 1, 2, 3, 4), 2))).toEqual([[0, 1], [2, 3], [4]]);
  });

  it('returns no run for no job', () => {
    expect(contiguousRuns([], 10)).toEqual([]);
  });
});
