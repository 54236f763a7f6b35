import { readFileSync } from 'node:fs';

/** One line the `ledgered` fixture job wrote: a start or end of an attempt of job `index`, at `at` ms. */
export interface LedgerEntry {
  kind: 'start' | 'end';
  index: number;
  attempt: number;
  at: number;
}

/** The lines of ledger `file`. */
export function ledgerEntries(file: string): LedgerEntry[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [kind, index, attempt, at] = line.split(' ');
      return {
        kind: kind as 'start' | 'end',
        index: Number(index),
        attempt: Number(attempt),
        at: Number(at),
      };
    });
}

/** Most jobs running at once over `entries`: ends before starts at the same millisecond (a slot handed over). */
export function mostAtOnce(entries: readonly LedgerEntry[]): number {
  const timeline = [...entries].sort((a, b) => a.at - b.at || (a.kind === 'end' ? -1 : 1));
  let running = 0;
  let most = 0;
  for (const entry of timeline) {
    running += entry.kind === 'start' ? 1 : -1;
    most = Math.max(most, running);
  }
  return most;
}

/** What the jobs wrote to their ledger file: the most that ran at once, and per job index its starts. */
export function readLedger(file: string): { most: number; starts: Map<number, number> } {
  const entries = ledgerEntries(file);
  const starts = new Map<number, number>();
  for (const entry of entries)
    if (entry.kind === 'start') starts.set(entry.index, (starts.get(entry.index) ?? 0) + 1);
  return { most: mostAtOnce(entries), starts };
}

/** Job-milliseconds of running between `from` and `to` over `entries` (the area under the running count). */
export function runningTime(entries: readonly LedgerEntry[], from: number, to: number): number {
  const timeline = [...entries].sort((a, b) => a.at - b.at || (a.kind === 'end' ? -1 : 1));
  let running = 0;
  let last = from;
  let area = 0;
  for (const entry of timeline) {
    const at = Math.min(Math.max(entry.at, from), to);
    area += running * (at - last);
    last = at;
    running += entry.kind === 'start' ? 1 : -1;
  }
  return area + running * (to - last);
}
