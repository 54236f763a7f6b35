import { describe, expect, it } from 'vitest';

import type { StatusCounts } from '../model/status.js';

import { createAdmissionCoalescer } from './admission-coalescer.js';
import type { AdmitReport } from './admit.js';

const counts = (ended: number): StatusCounts => ({
  pending: 10 - ended,
  inProgress: 0,
  completed: ended,
  errored: 0,
  cancelled: 0,
});

/** An admission whose end the test decides, recording what each run started from. */
function controlledAdmissions() {
  const runs: { id: string; counts: StatusCounts | undefined; finish: () => void }[] = [];
  const admit = (id: string, c: StatusCounts | undefined) =>
    new Promise<AdmitReport>((resolve) =>
      runs.push({
        id,
        counts: c,
        finish: () => resolve({ admitted: runs.length, launch: null, admittedBy: {} }),
      }),
    );
  return { runs, admit };
}

describe('createAdmissionCoalescer', () => {
  it('runs one admission at a time per orchestration; callers meanwhile share one run from the latest counts', async () => {
    const { runs, admit } = controlledAdmissions();
    const coalesced = createAdmissionCoalescer(admit);
    const first = coalesced('o1', counts(1));
    const later = [coalesced('o1', counts(3)), coalesced('o1', counts(5)), coalesced('o1', counts(4))];
    const other = coalesced('o2', counts(2));
    expect(runs.map((r) => r.id)).toEqual(['o1', 'o2']);
    runs[0]?.finish();
    expect(await first).toMatchObject({ admitted: 2 });
    // The next run starts only after the first ended, once, from the counts with the most ended jobs.
    await Promise.resolve();
    await new Promise((resolve) => setImmediate(resolve));
    expect(runs.map((r) => r.id)).toEqual(['o1', 'o2', 'o1']);
    expect(runs[2]?.counts).toEqual(counts(5));
    runs[2]?.finish();
    const reports = await Promise.all(later);
    expect(new Set(reports)).toHaveProperty('size', 1);
    runs[1]?.finish();
    await other;
    expect(runs).toHaveLength(3);
  });

  it('lets a shared run read the counts itself when one caller brought none', async () => {
    const { runs, admit } = controlledAdmissions();
    const coalesced = createAdmissionCoalescer(admit);
    const first = coalesced('o1', counts(1));
    const later = [coalesced('o1', counts(3)), coalesced('o1', undefined)];
    runs[0]?.finish();
    await first;
    await new Promise((resolve) => setImmediate(resolve));
    expect(runs[1]?.counts).toBeUndefined();
    runs[1]?.finish();
    await Promise.all(later);
  });

  it('starts the shared run after a failed one too', async () => {
    const runs: (() => void)[] = [];
    let calls = 0;
    const coalesced = createAdmissionCoalescer(
      () =>
        new Promise<AdmitReport>((resolve, reject) => {
          calls++;
          runs.push(
            calls === 1
              ? () => reject(new Error('lost'))
              : () => resolve({ admitted: 1, launch: null, admittedBy: {} }),
          );
        }),
    );
    const first = coalesced('o1', counts(1));
    const second = coalesced('o1', counts(2));
    runs[0]?.();
    await expect(first).rejects.toThrow('lost');
    await new Promise((resolve) => setImmediate(resolve));
    runs[1]?.();
    expect(await second).toMatchObject({ admitted: 1 });
  });
});
