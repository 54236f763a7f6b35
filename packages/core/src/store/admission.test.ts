import { describe, expect, it } from 'vitest';

import type { OrchestrationDoc } from '../model/documents.js';
import { emptyCounts } from '../model/status.js';

import { admittedIndices, leftToAdmit, ownFreeSlots, takeJobs } from './admission.js';

/** The fields admission arithmetic reads of an orchestration. */
function cursor(admitted: number, readmit: number[], maxParallel: number | null = 3, total = 10) {
  return { id: 'o1', total, admitted, readmit, maxParallel } as unknown as OrchestrationDoc & {
    admitted: number;
  };
}

describe('admission arithmetic', () => {
  it('takes reopened jobs first, then moves the cursor, never past the last job', () => {
    const { admission, patch } = takeJobs(cursor(6, [1, 4]), 3, null);
    expect(admittedIndices(admission)).toEqual([1, 4, 6]);
    expect(patch).toMatchObject({ admitted: 7, readmit: [] });
    expect(takeJobs(cursor(6, [1, 4, 5]), 2, null).patch).toMatchObject({ admitted: 6, readmit: [5] });
    expect(admittedIndices(takeJobs(cursor(9, []), 5, null).admission)).toEqual([9]);
    expect(leftToAdmit(cursor(6, [1, 4]))).toBe(6);
  });

  it('counts reopened jobs waiting in line as holding no slot', async () => {
    // 6 admitted, 1 ended, 2 of them reopened and waiting: 3 hold a slot, so none is free at 3.
    const counts = { ...emptyCounts(), completed: 1 };
    expect(await ownFreeSlots(cursor(6, [1, 4]), () => Promise.resolve(counts))).toBe(0);
    expect(await ownFreeSlots(cursor(6, [1, 4], 5), () => Promise.resolve(counts))).toBe(2);
    expect(await ownFreeSlots(cursor(6, [1, 4], null), () => Promise.resolve(counts))).toBe(6);
  });
});
