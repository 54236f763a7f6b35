/**
 * Splits jobs into runs of consecutive indices of at most `maxRun` jobs, in index order: one array-mode
 * execution each (its task `i` runs job `first + i`). A kick-off's jobs are one range; a relaunch of
 * the jobs a dead kick-off never launched may leave gaps.
 */
export function contiguousRuns<T extends { index: number }>(jobs: readonly T[], maxRun: number): T[][] {
  const runs: T[][] = [];
  let run: T[] = [];
  for (const job of [...jobs].sort((a, b) => a.index - b.index)) {
    const last = run.at(-1);
    if (last !== undefined && (job.index !== last.index + 1 || run.length >= maxRun)) {
      runs.push(run);
      run = [];
    }
    run.push(job);
  }
  if (run.length > 0) runs.push(run);
  return runs;
}
