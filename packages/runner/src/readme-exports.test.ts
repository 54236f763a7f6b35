import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

const read = (path: string) => readFileSync(new URL(path, import.meta.url), 'utf8');

/** Every name `src/index.ts` exports, values and types. */
function indexExports(): string[] {
  const source = read('./index.ts');
  const names: string[] = [];
  for (const match of source.matchAll(/export (?:type )?\{([^}]*)\}/g)) {
    for (const part of (match[1] ?? '').split(',')) {
      const name = part.replace(/^\s*type\s+/, '').trim();
      if (name) names.push(name);
    }
  }
  return names.sort();
}

/** The names the README's "Public exports" section lists, one per `- \`name\` — …` line. */
function readmeExports(): string[] {
  const readme = read('../README.md');
  const section = readme.split('## Public exports')[1]?.split('\n## ')[0] ?? '';
  return [...section.matchAll(/^- `([A-Za-z0-9_]+)` — \S/gm)].map((m) => m[1] ?? '').sort();
}

describe('the runner README', () => {
  it('lists exactly the names src/index.ts exports, each with a line of its own', () => {
    const exported = indexExports();
    expect(exported.length).toBeGreaterThan(20);
    expect(readmeExports()).toEqual(exported);
  });

  it('lists every name a consumer can import at run time', async () => {
    const runtime = Object.keys(await import('./index.js'));
    expect(runtime.length).toBeGreaterThan(10);
    expect(runtime.filter((name) => !readmeExports().includes(name))).toEqual([]);
  });
});
