import { describe, expect, it } from 'vitest';

import { createCoalescer } from './coalesce.js';

/** A task whose runs are finished by hand, so the test decides the interleaving. */
function manualTask() {
  const runs: { key: string; finish(value: number): void; fail(error: Error): void }[] = [];
  const task = (key: string) => () =>
    new Promise<number>((resolve, reject) => {
      runs.push({ key, finish: resolve, fail: reject });
    });
  return { runs, task };
}

/** Lets every queued promise callback run (a macrotask starts only after all microtasks). */
const flushMicrotasks = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('createCoalescer', () => {
  it('runs at once when idle and shares one later run among callers that arrive meanwhile', async () => {
    const { runs, task } = manualTask();
    const coalesced = createCoalescer<number>();
    const check = (key: string) => coalesced(key, task(key));
    const first = check('o1');
    const waiting = [check('o1'), check('o1'), check('o1')];
    expect(runs).toHaveLength(1);
    runs[0]?.finish(1);
    expect(await first).toBe(1);
    await flushMicrotasks();
    expect(runs).toHaveLength(2);
    runs[1]?.finish(2);
    expect(await Promise.all(waiting)).toEqual([2, 2, 2]);
    // Idle again: the next call starts its own run.
    const after = check('o1');
    expect(runs).toHaveLength(3);
    runs[2]?.finish(3);
    expect(await after).toBe(3);
  });

  it('keeps keys apart and passes failures to the callers of that run only', async () => {
    const { runs, task } = manualTask();
    const coalesced = createCoalescer<number>();
    const check = (key: string) => coalesced(key, task(key));
    const a = check('a');
    const b = check('b');
    const aLater = check('a');
    expect(runs.map((run) => run.key)).toEqual(['a', 'b']);
    runs[0]?.fail(new Error('unavailable'));
    await expect(a).rejects.toThrow('unavailable');
    runs[1]?.finish(7);
    expect(await b).toBe(7);
    await flushMicrotasks();
    runs[2]?.finish(8);
    expect(await aLater).toBe(8);
  });
});
