import { describe, expect, it } from 'vitest';

import { orchestrationGroup, shareSlots } from './budget-admission.js';

describe('shareSlots', () => {
  it('gives the free slots to the group holding fewest until the shares are even', () => {
    // Key A took 5 of 8 before key B joined with 3: the slot A's end frees goes to B.
    expect(
      shareSlots(
        [
          { held: 4, capacity: 1 },
          { held: 3, capacity: 2 },
        ],
        1,
        0,
      ).granted,
    ).toEqual([0, 1]);
    expect(
      shareSlots(
        [
          { held: 0, capacity: 10 },
          { held: 0, capacity: 10 },
        ],
        8,
        0,
      ).granted,
    ).toEqual([4, 4]);
    expect(
      shareSlots(
        [
          { held: 6, capacity: 10 },
          { held: 0, capacity: 10 },
        ],
        4,
        0,
      ).granted,
    ).toEqual([0, 4]);
  });

  it('never gives a group more than it can take, and leaves the rest free', () => {
    expect(
      shareSlots(
        [
          { held: 0, capacity: 1 },
          { held: 5, capacity: 2 },
        ],
        8,
        0,
      ).granted,
    ).toEqual([1, 2]);
    expect(shareSlots([{ held: 0, capacity: 0 }], 3, 0).granted).toEqual([0]);
    expect(shareSlots([], 3, 0)).toEqual({ granted: [], turn: 0 });
  });

  it('breaks ties round robin from the turn, and moves the turn past the last group served', () => {
    const groups = [
      { held: 2, capacity: 5 },
      { held: 2, capacity: 5 },
      { held: 2, capacity: 5 },
    ];
    expect(shareSlots(groups, 1, 1)).toEqual({ granted: [0, 1, 0], turn: 2 });
    expect(shareSlots(groups, 1, 2)).toEqual({ granted: [0, 0, 1], turn: 0 });
    expect(shareSlots(groups, 4, 2)).toEqual({ granted: [1, 1, 2], turn: 0 });
  });
});

describe('orchestrationGroup', () => {
  it("names the tenant, so a tenant's round can skip the others' groups unread", () => {
    expect(orchestrationGroup('acme', 'o1')).toBe('o:acme:o1');
    expect(orchestrationGroup(null, 'o1')).toBe('o::o1');
  });
});
