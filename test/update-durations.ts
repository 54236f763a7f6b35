// Refreshes test/durations.json (the order the suite's files start in, see test/sequencer.ts) from
// vitest's results cache: run the whole suite first (`npx vitest run`), then
// `node test/update-durations.ts`. Files the cache does not know keep their committed seconds; files
// that no longer exist are dropped.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

interface ResultsCache {
  projects: Record<string, { files: Record<string, { duration: number }> }>;
}

const root = new URL('..', import.meta.url).pathname;
const cacheDir = join(root, 'node_modules', '.vite', 'vitest');
const table = new URL('durations.json', import.meta.url);
const seconds = JSON.parse(readFileSync(table, 'utf8')) as Record<string, number>;

for (const entry of existsSync(cacheDir) ? readdirSync(cacheDir) : []) {
  const file = join(cacheDir, entry, 'results.json');
  if (!existsSync(file)) continue;
  const cache = JSON.parse(readFileSync(file, 'utf8')) as ResultsCache;
  for (const project of Object.values(cache.projects)) {
    for (const [path, { duration }] of Object.entries(project.files)) {
      if (!path.endsWith('.test.ts')) continue;
      seconds[path] = Math.round(duration / 100) / 10;
    }
  }
}
// Files since removed or renamed drop out.
const sorted = Object.entries(seconds)
  .filter(([path]) => existsSync(join(root, path)))
  .sort(([a, x], [b, y]) => y - x || a.localeCompare(b));
writeFileSync(table, `${JSON.stringify(Object.fromEntries(sorted), null, 2)}\n`);
console.log(`test/durations.json: ${sorted.length} files`);
