import { describe, expect, it } from 'vitest';

import { splitIntoBatches } from './register-orchestration.js';

const limits = { maxWrites: 3, maxBytes: 100 };

describe('splitIntoBatches', () => {
  it('cuts at the write limit when items are small, keeping their order', () => {
    const items = [1, 2, 3, 4, 5, 6, 7];
    expect(splitIntoBatches(items, () => 10, limits)).toEqual([[1, 2, 3], [4, 5, 6], [7]]);
  });

  it('cuts at the byte limit when items are large', () => {
    const sizes = [40, 40, 40, 90, 10, 10];
    const batches = splitIntoBatches(
      sizes.map((size, id) => ({ id, size })),
      (item) => item.size,
      limits,
    );
    expect(batches.map((batch) => batch.map((item) => item.id))).toEqual([[0, 1], [2], [3, 4], [5]]);
    for (const batch of batches) {
      expect(batch.reduce((sum, item) => sum + item.size, 0)).toBeLessThanOrEqual(limits.maxBytes);
    }
  });

  it('puts an item heavier than the byte limit in a batch of its own', () => {
    expect(splitIntoBatches(['a', 'huge', 'b'], (item) => (item === 'huge' ? 500 : 10), limits)).toEqual([
      ['a'],
      ['huge'],
      ['b'],
    ]);
  });

  it('returns no batch for no items', () => {
    expect(splitIntoBatches([], () => 1, limits)).toEqual([]);
  });
});
