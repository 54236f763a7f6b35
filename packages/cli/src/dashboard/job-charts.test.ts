import { describe, expect, it } from 'vitest';

// The charts' arithmetic is plain functions of the page's code (no DOM until a chart is drawn).
import { durations, histogram, type JobTiming, timeline } from './browser/job-charts.js';

const job = (start: number, end: number | null): JobTiming => ({
  attempts: [[start, end]],
  startedAt: start,
  finishedAt: end,
});

describe('timeline', () => {
  it('has one point per distinct event time, with attempts running and jobs ended at that time', () => {
    const jobs: JobTiming[] = [
      job(0, 10),
      job(0, 20),
      // A retried job: its first attempt ended at 5 without ending the job.
      {
        attempts: [
          [2, 5],
          [6, 30],
        ],
        startedAt: 2,
        finishedAt: 30,
      },
      job(25, null),
      { attempts: [], startedAt: null, finishedAt: null },
    ];
    expect(timeline(jobs)).toEqual([
      { x: 0, running: 2, ended: 0 },
      { x: 2, running: 3, ended: 0 },
      { x: 5, running: 2, ended: 0 },
      { x: 6, running: 3, ended: 0 },
      { x: 10, running: 2, ended: 1 },
      { x: 20, running: 1, ended: 2 },
      { x: 25, running: 2, ended: 2 },
      { x: 30, running: 1, ended: 3 },
    ]);
  });

  it('groups more than 300 event times into at most 300 time buckets, keeping the last state', () => {
    const jobs = Array.from({ length: 1_000 }, (_, i) => job(i * 10, i * 10 + 5));
    const points = timeline(jobs);
    expect(points.length).toBeLessThanOrEqual(300);
    expect(points.length).toBeGreaterThan(250);
    expect(points.at(-1)).toEqual({ x: 9_995, running: 0, ended: 1_000 });
    expect(points.map((point) => point.x)).toEqual([...points.map((point) => point.x)].sort((a, b) => a - b));
  });
});

describe('histogram', () => {
  it('counts durations of ended jobs in ⌈log2 n⌉ + 1 equal bins', () => {
    const values = durations([job(0, 100), job(0, 200), job(0, 300), job(0, 400), job(5, null)]);
    expect(values).toEqual([100, 200, 300, 400]);
    const bins = histogram(values);
    expect(bins).toHaveLength(3);
    expect(bins.map((bin) => bin.count)).toEqual([1, 1, 2]);
    expect(bins[0]?.from).toBe(100);
    expect(bins.at(-1)?.to).toBe(400);
  });

  it('has one bin when every duration is the same, none without durations, and ⌈log2 n⌉ + 1 for many', () => {
    expect(histogram([50, 50, 50])).toEqual([{ from: 50, to: 50, count: 3 }]);
    expect(histogram([])).toEqual([]);
    const many = histogram(Array.from({ length: 100_000 }, (_, i) => i));
    expect(many.length).toBe(18);
    expect(many.reduce((sum, bin) => sum + bin.count, 0)).toBe(100_000);
  });
});
