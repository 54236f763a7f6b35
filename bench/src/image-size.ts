import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { round } from './stats.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** What a job image installs: the runner's production dependencies, measured after a real install. */
export interface ImageSizeResult {
  /** Sum of the installed files' sizes (MB, 2^20 bytes), what `du --apparent-size` reports. */
  installedMb: number;
  /** Disk blocks the install takes (MB), what a plain `du` reports (4 KB blocks round small files up). */
  diskMb: number;
  /** Installed packages (node_modules entries, scoped ones counted one by one). */
  packages: number;
  /** The runner's own dependencies, as its packed package.json declares them. */
  runnerDependencies: string[];
  /** Whether core's optional peer `@google-cloud/pubsub` got installed (it must not be). */
  pubsubInstalled: boolean;
}

/** Sizes of every file under `dir`: apparent bytes and 4 KB disk blocks. */
function sizeOf(dir: string): { bytes: number; blocks: number } {
  let bytes = 0;
  let blocks = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      const inner = sizeOf(path);
      bytes += inner.bytes;
      blocks += inner.blocks + 1;
    } else if (entry.isFile()) {
      const size = statSync(path).size;
      bytes += size;
      blocks += Math.ceil(size / 4096);
    }
  }
  return { bytes, blocks };
}

function countPackages(modules: string): number {
  return readdirSync(modules)
    .filter((name) => !name.startsWith('.'))
    .reduce((count, name) => count + (name.startsWith('@') ? readdirSync(join(modules, name)).length : 1), 0);
}

/**
 * Packs `packages/core` and `packages/runner` (`npm pack`, from their built dist), installs the two
 * tarballs with `npm install --omit=dev` into an empty directory (dependencies come from the npm
 * registry), and measures the resulting node_modules: what a job image adds to its base image.
 */
export async function measureImageSize(): Promise<ImageSizeResult> {
  const dir = mkdtempSync(join(tmpdir(), 'e11-image-'));
  try {
    const packed = await run(
      'npm',
      [
        'pack',
        '--json',
        '--pack-destination',
        dir,
        join(ROOT, 'packages/core'),
        join(ROOT, 'packages/runner'),
      ],
      { cwd: dir },
    );
    const [core, runner] = (JSON.parse(packed.stdout) as { filename: string }[]).map((p) => p.filename);
    if (!core || !runner) throw new Error(`npm pack gave no tarballs: ${packed.stdout}`);
    writeFileSync(
      join(dir, 'package.json'),
      JSON.stringify({
        name: 'e11-job-image',
        private: true,
        dependencies: { '@e11/core': `file:./${core}`, '@e11/runner': `file:./${runner}` },
      }),
    );
    await run('npm', ['install', '--omit=dev', '--no-audit', '--no-fund', '--ignore-scripts'], {
      cwd: dir,
    });
    const modules = join(dir, 'node_modules');
    const { bytes, blocks } = sizeOf(modules);
    const manifest = JSON.parse(readFileSync(join(modules, '@e11/runner/package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
    };
    return {
      installedMb: round(bytes / 2 ** 20, 1),
      diskMb: round((blocks * 4096) / 2 ** 20, 1),
      packages: countPackages(modules),
      runnerDependencies: Object.keys(manifest.dependencies ?? {}).sort(),
      pubsubInstalled: existsSync(join(modules, '@google-cloud/pubsub')),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
