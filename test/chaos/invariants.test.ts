import { describe, expect, it } from 'vitest';

import { killedAfterPublish, mostFinishedAtOnce, overlappingAttempts } from './invariants.js';
import { Random } from './random.js';

const entry = (jobId: string, attempt: number, startedAt: number, endedAt: number | null) => ({
  jobId,
  attempt,
  pid: 1_000 + attempt,
  startedAt,
  endedAt,
});

describe('the chaos invariants', () => {
  it('excuses a second message only when the functions server was killed just after the first', () => {
    expect(killedAfterPublish(1_000, [1_500])).toBe(true);
    expect(killedAfterPublish(1_000, [900, 20_000])).toBe(false);
    expect(killedAfterPublish(1_000, [])).toBe(false);
  });

  it('finds two finished attempts of one job that overlap in time', () => {
    const pairs = overlappingAttempts([entry('a', 1, 0, 100), entry('a', 2, 50, 150), entry('b', 1, 60, 70)]);
    expect(pairs.map(([x, y]) => [x.attempt, y.attempt])).toEqual([[1, 2]]);
  });

  it('accepts attempts one after the other, and a killed attempt that never finished its work', () => {
    expect(
      overlappingAttempts([entry('a', 1, 0, 100), entry('a', 2, 100, 150), entry('a', 3, 120, null)]),
    ).toEqual([]);
  });

  it('counts the most finished attempts running at once, a handover at the same millisecond as one', () => {
    const entries = [
      entry('a', 1, 0, 100),
      entry('b', 1, 50, 150),
      entry('c', 1, 100, 200),
      entry('d', 1, 60, null),
    ];
    expect(mostFinishedAtOnce(entries)).toBe(2);
    expect(mostFinishedAtOnce([...entries, entry('e', 1, 120, 130)])).toBe(3);
  });

  it('replays the same schedule from the same seed', () => {
    const draw = (seed: number) => {
      const random = new Random(seed);
      return Array.from({ length: 20 }, () => random.int(0, 1_000));
    };
    expect(draw(1234)).toEqual(draw(1234));
    expect(draw(1234)).not.toEqual(draw(1235));
  });
});
