import { describe, expect, it } from 'vitest';

import { budgetBurst, RESERVE_HORIZON_MS, reserveSlots } from './shared-budget.js';

describe('reserveSlots (the shared budget arithmetic, on Firestore time)', () => {
  it('lets a burst go at once after a quiet spell, then one slot per interval, up to the horizon', () => {
    // 120 a minute: a burst of 2, a slot every 500 ms.
    expect(budgetBurst(120)).toBe(2);
    const first = reserveSlots(undefined, 10_000, 120, 10);
    expect(first.reservation.offsetsMs).toEqual([0, 0, 500, 1_000]);
    expect(first.doc.nextAtMs).toBe(12_000);
    // Another process, 200 ms later, gets the slots after those, inside its horizon.
    const second = reserveSlots(first.doc, 10_200, 120, 10);
    expect(second.reservation.offsetsMs).toEqual([]);
    expect(second.reservation.waitMs).toBe(300);
    const third = reserveSlots(first.doc, 10_600, 120, 10);
    expect(third.reservation.offsetsMs).toEqual([900]);
  });

  it('never holds more than rate × T + burst slots in any window of T, whoever reserves them', () => {
    const rate = 90;
    const burst = 3;
    let doc: ReturnType<typeof reserveSlots>['doc'] | undefined;
    const slots: number[] = [];
    // Several processes asking at irregular times, for irregular numbers of slots.
    for (let t = 0; t <= 180_000; t += 173 + ((t * 7) % 911)) {
      const { doc: next, reservation } = reserveSlots(doc, t, rate, 1 + (t % 5), burst);
      doc = next;
      slots.push(...reservation.offsetsMs.map((offset) => t + offset));
      for (const offset of reservation.offsetsMs) expect(offset).toBeLessThanOrEqual(RESERVE_HORIZON_MS);
    }
    slots.sort((a, b) => a - b);
    for (const [i, start] of slots.entries()) {
      const inWindow = slots.slice(i).filter((at) => at < start + 60_000).length;
      expect(inWindow).toBeLessThanOrEqual(rate + burst);
    }
    // And the budget is used: about the rate over the whole run.
    expect(slots.length).toBeGreaterThanOrEqual(rate * 3 - burst);
  });

  it('does not move its schedule back when a read time is earlier than the last one', () => {
    const at = reserveSlots(undefined, 10_000, 60, 1, 1).doc;
    const earlier = reserveSlots(at, 9_500, 60, 1, 1);
    // The next slot (11,000) is 1,500 ms away: outside the horizon, so nothing now, ask again in 500 ms.
    expect(earlier.reservation).toEqual({ offsetsMs: [], waitMs: 500 });
    expect(earlier.doc.nextAtMs).toBe(11_000);
  });
});
