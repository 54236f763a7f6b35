import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

import type { TestSequencer, TestSpecification, Vitest } from 'vitest/node';

/**
 * Seconds each test file took in a full run from a fresh clone (`test/durations.json`, refreshed with
 * `node test/update-durations.ts` after a full `vitest run`).
 */
const KNOWN: Readonly<Record<string, number>> = JSON.parse(
  readFileSync(new URL('durations.json', import.meta.url), 'utf8'),
) as Record<string, number>;

/**
 * What a file missing from the table and from vitest's own results cache is taken to last: a new
 * integration file of middle size, so it starts after the few long files and before the many short
 * ones, which fill the workers' last gaps.
 */
const UNKNOWN_SECONDS = 30;

/**
 * Starts the longest files first, so that the run does not end with one worker busy on a long file
 * that started last while the other waits. Vitest orders by its cached durations only when a cache
 * exists (a fresh clone or CI has none, and then it orders by file size, which puts the 290 s
 * max-parallel file in the middle). The committed table gives every run the same order; vitest's
 * cache covers files the table does not know yet.
 */
export class LongestFirstSequencer implements TestSequencer {
  constructor(private readonly ctx: Vitest) {}

  /** With `--shard=i/n`: every n-th file in path order, starting at the i-th. */
  shard(files: TestSpecification[]): TestSpecification[] {
    const { index, count } = this.ctx.config.shard ?? { index: 1, count: 1 };
    const inOrder = [...files].sort((a, b) => a.moduleId.localeCompare(b.moduleId));
    return inOrder.filter((_, position) => position % count === index - 1);
  }

  sort(files: TestSpecification[]): TestSpecification[] {
    const root = this.ctx.config.root;
    const seconds = (spec: TestSpecification): number => {
      const known = KNOWN[relative(root, spec.moduleId).split('\\').join('/')];
      if (known !== undefined) return known;
      const cached = this.ctx.cache.getTestSpecificationResult(spec);
      return cached ? cached.duration / 1000 : UNKNOWN_SECONDS;
    };
    const estimates = new Map(files.map((spec) => [spec, seconds(spec)]));
    return [...files].sort(
      (a, b) => (estimates.get(b) ?? 0) - (estimates.get(a) ?? 0) || a.moduleId.localeCompare(b.moduleId),
    );
  }
}
