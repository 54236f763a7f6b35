import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix, relative, sep } from 'node:path';
import { promisify } from 'node:util';

import type { CheckResult, Problem, ResolutionKind } from '@arethetypeswrong/core';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Every workspace whose package.json is not `private` is published to npm. Each is packed exactly as
// `npm publish` would pack it (a real tarball, unpacked into a temp directory), and the tarball is
// checked: the files a user needs are in it and nothing of our build or tests is; every entry point
// resolves; publint and arethetypeswrong find nothing. Build first (`npx tsc -b`): packing takes dist.

const execFileAsync = promisify(execFile);
const root = join(import.meta.dirname, '..');
const rootLicense = readFileSync(join(root, 'LICENSE'), 'utf8');

interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  type?: string;
  license?: string;
  keywords?: string[];
  homepage?: string;
  bugs?: { url?: string };
  repository?: { type?: string; url?: string; directory?: string };
  main?: string;
  types?: string;
  exports?: unknown;
  bin?: string | Record<string, string>;
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  workspaces?: string[];
}

const readManifest = (dir: string): Manifest =>
  JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;

/** The repository's workspaces (root package.json), as paths relative to the root. */
function workspaces(): string[] {
  const listed = readManifest(root).workspaces ?? [];
  for (const path of listed) {
    if (path.includes('*')) throw new Error(`workspace glob ${path}: list workspaces by path`);
  }
  return listed;
}

const publicWorkspaces = workspaces()
  .map((path) => ({ path, manifest: readManifest(join(root, path)) }))
  .filter(({ manifest }) => manifest.private !== true);
const versionOf = new Map(
  workspaces().map((path) => [readManifest(join(root, path)).name, readManifest(join(root, path)).version]),
);

/** `"type": "module"` and no `require` condition: a package only `import` can load. */
const isEsmOnly = (manifest: Manifest): boolean =>
  manifest.type === 'module' && !JSON.stringify(manifest.exports ?? {}).includes('"require"');

/**
 * The arethetypeswrong CLI's analysis of a tarball. Its JSON holds every problem whatever the profile;
 * the profile sets the exit code (1: a problem the profile does not ignore).
 */
async function attw(tarballPath: string, profile: 'esm-only' | 'strict'): Promise<CheckResult> {
  const args = [tarballPath, '--format', 'json', '--profile', profile];
  const stdout = await execFileAsync(join(root, 'node_modules/.bin/attw'), args, {
    cwd: root,
    maxBuffer: 64 * 1024 * 1024,
  }).then(
    (result) => result.stdout,
    (error: unknown) => {
      const failed = error as { code?: unknown; stdout?: unknown };
      if (failed.code === 1 && typeof failed.stdout === 'string') return failed.stdout;
      throw error;
    },
  );
  return (JSON.parse(stdout) as { analysis: CheckResult }).analysis;
}

interface Packed {
  /** The tarball's bytes. */
  tarball: Uint8Array;
  /** The tarball's path. */
  tarballPath: string;
  /** Where the tarball was unpacked (its `package/` folder). */
  dir: string;
  /** Every file in the tarball, as a POSIX path relative to the package root. */
  files: Set<string>;
  /** arethetypeswrong's analysis of the tarball. */
  types: CheckResult;
}

let scratch: string;
const packed = new Map<string, Packed>();

function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)).split(sep).join('/'));
}

async function pack(workspace: string, manifest: Manifest): Promise<Packed> {
  const out = join(scratch, workspace.replaceAll('/', '-'));
  await mkdir(out, { recursive: true });
  const { stdout } = await execFileAsync(
    'npm',
    ['pack', '--json', '--pack-destination', out, '--workspace', workspace],
    { cwd: root, maxBuffer: 64 * 1024 * 1024 },
  );
  const [result] = JSON.parse(stdout) as { filename: string }[];
  if (!result) throw new Error(`npm pack ${workspace} printed no result`);
  const tarballPath = join(out, result.filename);
  await execFileAsync('tar', ['-xzf', tarballPath, '-C', out]);
  const dir = join(out, 'package');
  return {
    tarball: new Uint8Array(await readFile(tarballPath)),
    tarballPath,
    dir,
    files: new Set(listFiles(dir)),
    types: await attw(tarballPath, isEsmOnly(manifest) ? 'esm-only' : 'strict'),
  };
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'e11-pack-'));
  const results = await Promise.all(
    publicWorkspaces.map(async ({ path, manifest }) => [path, await pack(path, manifest)] as const),
  );
  for (const [path, result] of results) packed.set(path, result);
}, 120_000);

afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

function packedOf(workspace: string): Packed {
  const result = packed.get(workspace);
  if (!result) throw new Error(`${workspace} was not packed`);
  return result;
}

/** The file a package.json path (`./dist/x.js`, `dist/x.js`) names, relative to the package root. */
const packagePath = (target: string): string => posix.normalize(target.replace(/^\.\//, ''));

/** Every file path named by `exports` (all conditions, all subpaths). */
function exportTargets(exports: unknown): string[] {
  if (typeof exports === 'string') return [exports];
  if (Array.isArray(exports)) return exports.flatMap(exportTargets);
  if (exports && typeof exports === 'object') return Object.values(exports).flatMap(exportTargets);
  return [];
}

/** The bare module specifiers a file imports (`from 'x'`, `import('x')`, `import 'x'`). */
function importedPackages(source: string): string[] {
  const specifiers = [...source.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)'([^'./][^']*)'/g)].map(
    (match) => match[1] ?? '',
  );
  return specifiers
    .filter((specifier) => !specifier.startsWith('node:'))
    .map((specifier) =>
      specifier
        .split('/')
        .slice(0, specifier.startsWith('@') ? 2 : 1)
        .join('/'),
    );
}

/** A version range that admits exactly one version (`6.3.0`, `=6.3.0`, `v6.3.0`). */
const isExactPin = (range: string): boolean => /^[=v]*\d+\.\d+\.\d+(?:[-+][\w.+-]*)?$/.test(range.trim());

/** Google Cloud client libraries and rxjs: an app shares these with us, so their ranges must float. */
const isSharedClient = (name: string): boolean =>
  name === 'rxjs' || (name.startsWith('@google-cloud/') && name !== '@google-cloud/functions-framework');

describe('every public workspace packs into a tarball fit to publish', () => {
  it('the public workspaces are found (each non-private workspace of the root package.json)', () => {
    expect(publicWorkspaces.map(({ manifest }) => manifest.name)).toEqual(
      expect.arrayContaining(['@e11/core', '@e11/sdk', '@e11/runner', '@e11/functions', '@e11/cli']),
    );
  });

  for (const { path, manifest } of publicWorkspaces) {
    describe(`${manifest.name} (${path})`, () => {
      it('package.json names its repository directory, homepage, bugs, keywords and the Apache-2.0 license', () => {
        expect(manifest.license).toBe('Apache-2.0');
        expect(manifest.repository?.type).toBe('git');
        expect(manifest.repository?.url).toMatch(/^git\+https:\/\/.+\.git$/);
        expect(manifest.repository?.directory).toBe(path);
        expect(manifest.homepage).toMatch(/^https:\/\//);
        expect(manifest.bugs?.url).toMatch(/^https:\/\//);
        expect(manifest.keywords?.length ?? 0).toBeGreaterThan(0);
      });

      it('the tarball holds the LICENSE (the root Apache-2.0 text) and the README', () => {
        const { dir, files } = packedOf(path);
        expect(files).toContain('LICENSE');
        expect(readFileSync(join(dir, 'LICENSE'), 'utf8')).toBe(rootLicense);
        expect(files).toContain('README.md');
      });

      it('the tarball holds no TypeScript build info and no test file', () => {
        const files = [...packedOf(path).files];
        expect(files.filter((file) => file.endsWith('.tsbuildinfo'))).toEqual([]);
        expect(files.filter((file) => /\.(test|spec)\.[^/]*$/.test(file))).toEqual([]);
      });

      it('every source map points at sources in the tarball, and every sourceMappingURL at a shipped map', () => {
        const { dir, files } = packedOf(path);
        const missing: string[] = [];
        for (const file of files) {
          if (file.endsWith('.map')) {
            const map = JSON.parse(readFileSync(join(dir, file), 'utf8')) as {
              sourceRoot?: string;
              sources: string[];
            };
            for (const source of map.sources) {
              const target = posix.join(posix.dirname(file), map.sourceRoot ?? '', source);
              if (!files.has(target)) missing.push(`${file} -> ${target}`);
            }
          } else if (/\.(js|d\.ts)$/.test(file)) {
            const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(readFileSync(join(dir, file), 'utf8'))?.[1];
            if (url && !url.startsWith('data:')) {
              const target = posix.join(posix.dirname(file), url);
              if (!files.has(target)) missing.push(`${file} -> ${target}`);
            }
          }
        }
        expect(missing).toEqual([]);
      });

      it('every exports, main, types and bin target is in the tarball', () => {
        const { files } = packedOf(path);
        const bins = typeof manifest.bin === 'string' ? [manifest.bin] : Object.values(manifest.bin ?? {});
        const targets = [
          ...exportTargets(manifest.exports),
          ...(manifest.main ? [manifest.main] : []),
          ...(manifest.types ? [manifest.types] : []),
          ...bins,
        ];
        expect(targets.length).toBeGreaterThan(0);
        for (const target of targets) {
          expect(target, 'subpath patterns are not checked here').not.toContain('*');
          expect(files, target).toContain(packagePath(target));
        }
      });

      it('Google Cloud clients and rxjs that its types expose are peerDependencies; none is an exact pin', () => {
        const { dir, files } = packedOf(path);
        const peers = manifest.peerDependencies ?? {};
        const exposed = new Set(
          [...files]
            .filter((file) => file.endsWith('.d.ts'))
            .flatMap((file) => importedPackages(readFileSync(join(dir, file), 'utf8')))
            .filter(isSharedClient),
        );
        expect([...exposed].filter((name) => !(name in peers))).toEqual([]);
        const pinned = Object.entries({ ...manifest.dependencies, ...peers })
          .filter(([name, range]) => isSharedClient(name) && isExactPin(range))
          .map(([name, range]) => `${name}@${range}`);
        expect(pinned).toEqual([]);
      });

      it('runs nothing at install (no preinstall, install or postinstall script)', () => {
        const scripts = Object.keys(manifest.scripts ?? {});
        expect(scripts.filter((name) => ['preinstall', 'install', 'postinstall'].includes(name))).toEqual([]);
      });

      it('its @e11 dependencies name the exact versions of those workspaces', () => {
        for (const [name, range] of Object.entries(manifest.dependencies ?? {})) {
          if (name.startsWith('@e11/')) expect(range, name).toBe(versionOf.get(name));
        }
      });

      it('publint finds nothing (suggestions included) in the tarball', async () => {
        const { tarball } = packedOf(path);
        const buffer = tarball.buffer.slice(tarball.byteOffset, tarball.byteOffset + tarball.byteLength);
        const { messages, pkg } = await publint({
          pack: { tarball: buffer as ArrayBuffer },
          level: 'suggestion',
          strict: true,
        });
        expect(
          messages.map((message) => `${message.type}: ${formatMessage(message, pkg, { color: false })}`),
        ).toEqual([]);
      });

      it('npm publish --dry-run prints no warning or error (but that it is not logged in)', async () => {
        const { stderr } = await execFileAsync('npm', ['publish', '--dry-run', '--workspace', path], {
          cwd: root,
          maxBuffer: 64 * 1024 * 1024,
        });
        const complaints = stderr
          .split('\n')
          .filter((line) => /^npm (warn|error)/.test(line) && !line.includes('requires you to be logged in'));
        expect(complaints).toEqual([]);
      });

      it('arethetypeswrong finds no problem in the tarball (ESM-only: the CommonJS resolutions do not apply)', () => {
        // attw's `esm-only` profile: a package that cannot be require()d is not judged by node10 or
        // node16-from-CommonJS resolution. Anything else must pass every resolution.
        const ignored: ResolutionKind[] = isEsmOnly(manifest) ? ['node10', 'node16-cjs'] : [];
        const analysis = packedOf(path).types;
        if (!analysis.types) throw new Error(`arethetypeswrong found no types in ${manifest.name}`);
        const problems = analysis.problems.filter(
          (problem: Problem) => !('resolutionKind' in problem && ignored.includes(problem.resolutionKind)),
        );
        expect(problems).toEqual([]);
      });
    });
  }
});
