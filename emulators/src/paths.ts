import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cachedRoot: string | undefined;

/** The repository root: the nearest directory above this module that holds firebase.json. */
export function repoRoot(): string {
  if (cachedRoot !== undefined) return cachedRoot;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'firebase.json'))) return (cachedRoot = dir);
    const parent = dirname(dir);
    if (parent === dir) throw new Error('firebase.json not found above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

/** Scratch space for generated files and logs (git-ignored). */
export function stateDir(...parts: string[]): string {
  return join(repoRoot(), '.e11', ...parts);
}
