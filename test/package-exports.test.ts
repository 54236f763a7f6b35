import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import ts from 'typescript';
import { describe, expect, it } from 'vitest';

// Each package's public face is a deliberate list: its README names every export of every entry point
// (section "## Public exports", one "### `entry`" heading per entry, one "- `name`" bullet per export),
// and the built type declarations export exactly those names — no more (nothing leaks by `export *`),
// no fewer (no stale documentation).

const root = join(import.meta.dirname, '..');
const packagesDir = join(root, 'packages');
const packageDirs = readdirSync(packagesDir).map((name) => join(packagesDir, name));

interface Manifest {
  name: string;
  exports: Record<string, { types: string }>;
}

function manifest(dir: string): Manifest {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;
}

/** The names a built declaration file exports (values and types), resolved through re-exports. */
function declaredExports(dtsPath: string): string[] {
  const program = ts.createProgram([dtsPath], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(dtsPath);
  if (!source) throw new Error(`no declarations at ${dtsPath}: run the build first`);
  const moduleSymbol = checker.getSymbolAtLocation(source);
  if (!moduleSymbol) return [];
  return checker
    .getExportsOfModule(moduleSymbol)
    .map((symbol) => symbol.name)
    .sort();
}

/** The README's documented exports per entry point (`@e11/x` or `@e11/x/sub`). */
function documentedExports(readme: string): Map<string, string[]> {
  const start = readme.indexOf('\n## Public exports');
  const documented = new Map<string, string[]>();
  if (start === -1) return documented;
  const rest = readme.slice(start + 1);
  const end = rest.indexOf('\n## ');
  const section = end === -1 ? rest : rest.slice(0, end);
  let entry: string[] | undefined;
  for (const line of section.split('\n')) {
    const heading = /^### `([^`]+)`/.exec(line);
    if (heading?.[1]) {
      entry = [];
      documented.set(heading[1], entry);
      continue;
    }
    const bullet = /^- `([A-Za-z_$][\w$]*)`/.exec(line);
    if (bullet?.[1] && entry) entry.push(bullet[1]);
  }
  for (const names of documented.values()) names.sort();
  return documented;
}

describe('every package documents exactly what it exports', () => {
  for (const dir of packageDirs) {
    const pkg = manifest(dir);
    it(`${pkg.name}: README "Public exports" lists every export of every entry, and nothing else`, () => {
      const readme = readFileSync(join(dir, 'README.md'), 'utf8');
      const documented = documentedExports(readme);
      const entries = Object.entries(pkg.exports).map(([subpath, target]) => ({
        specifier: subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`,
        types: join(dir, target.types),
      }));
      expect([...documented.keys()].sort()).toEqual(entries.map((entry) => entry.specifier).sort());
      for (const entry of entries) {
        expect(documented.get(entry.specifier), entry.specifier).toEqual(declaredExports(entry.types));
      }
    });

    it(`${pkg.name}: no entry point re-exports a module wholesale (export *)`, () => {
      const sources = Object.values(pkg.exports).map((target) =>
        join(dir, target.types.replace(/^\.\/dist\//, 'src/').replace(/\.d\.ts$/, '.ts')),
      );
      for (const source of sources) {
        expect(readFileSync(source, 'utf8'), source).not.toMatch(/^export \* from/m);
      }
    });
  }

  it('the runner and the functions depend on @e11/core and never on the sdk (package.json and imports)', () => {
    for (const name of ['runner', 'functions']) {
      const dir = join(packagesDir, name);
      const deps = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { dependencies: object })
        .dependencies;
      expect(Object.keys(deps), name).toContain('@e11/core');
      expect(
        Object.keys(deps).filter((dep) => dep.startsWith('@e11/') && dep !== '@e11/core'),
        name,
      ).toEqual([]);
      const sources = readdirSync(join(dir, 'src'), { recursive: true, encoding: 'utf8' })
        .filter((file) => file.endsWith('.ts'))
        .map((file) => readFileSync(join(dir, 'src', file), 'utf8'));
      expect(
        sources.filter((source) => /from '@e11\/(sdk|cli)/.test(source) || /import\('@e11\/sdk/.test(source)),
        name,
      ).toEqual([]);
    }
  });

  it('the sdk is a small face: at most 81 names', () => {
    const names = declaredExports(join(packagesDir, 'sdk', 'dist/index.d.ts'));
    expect(names).toContain('OrchestrationService');
    // 70 before pipelines, which added 8 (definePipeline, its event, subscriber, view and options);
    // job handles added 3 (defineJob, JobHandle, ResultOf).
    expect(names.length).toBeLessThanOrEqual(81);
  });
});
