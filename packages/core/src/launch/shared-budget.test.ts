import { describe, expect, it } from 'vitest';

import { budgetBurst, takeTokens } from './shared-budget.js';

describe('takeTokens (the shared budget arithmetic, on Firestore time)', () => {
  it('starts full at one second of requests, refills evenly, and never holds more than that', () => {
    // 120 a minute: a burst of 2, one token every 500 ms.
    expect(budgetBurst(120)).toBe(2);
    const first = takeTokens(undefined, 1_000, 120, 5);
    expect(first.take).toEqual({ granted: 2, waitMs: 500 });
    const early = takeTokens(first.doc, 1_250, 120, 1);
    expect(early.take).toEqual({ granted: 0, waitMs: 250 });
    const later = takeTokens(early.doc, 1_500, 120, 3);
    expect(later.take.granted).toBe(1);
    // A long quiet spell refills to the burst, not beyond.
    expect(takeTokens(later.doc, 3_600_000, 120, 10).take.granted).toBe(2);
  });

  it('grants no more than rate × time + burst over any stretch, whatever the asking pattern', () => {
    const rate = 90;
    let doc: ReturnType<typeof takeTokens>['doc'] | undefined;
    let granted = 0;
    for (let t = 0; t <= 60_000; t += 137) {
      const result = takeTokens(doc, t, rate, 1 + (t % 4));
      doc = result.doc;
      granted += result.take.granted;
    }
    expect(granted).toBeLessThanOrEqual(rate + budgetBurst(rate));
    expect(granted).toBeGreaterThanOrEqual(rate - 1);
  });

  it('never goes backwards when a clock reads earlier than the last refill', () => {
    const at = takeTokens(undefined, 10_000, 60, 1).doc;
    const before = takeTokens(at, 9_000, 60, 1);
    expect(before.take.granted).toBe(0);
    expect(before.doc).toMatchObject({ tokens: 0, refilledAtMs: 10_000 });
    expect(takeTokens(before.doc, 11_000, 60, 5).take.granted).toBe(1);
  });
});
