// The packages as a user gets them: packed with `npm pack`, installed with npm into a scratch project
// outside this repository, type-checked with strict settings and every declaration file checked, and
// one run of real jobs through the local stack started from the scratch project's own @e11/emulators.
import { execFile } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const fixture = join(repoRoot, 'test', 'fixtures', 'consumer');
/** The published packages a backend, a job image and a local stack need. */
const PACKAGES = ['packages/core', 'packages/sdk', 'packages/runner', 'packages/functions', 'emulators'];

const scratch = realpathSync(mkdtempSync(join(tmpdir(), 'e11-consumer-')));
const packs = join(scratch, 'packs');
const project = join(scratch, 'project');

/** This Node.js first on PATH, so npm and the scratch project's scripts run on it too. */
const toolEnv: NodeJS.ProcessEnv = {
  ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('npm_'))),
  PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`,
};

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], cwd: string, env = toolEnv, timeoutMs = 300_000) {
  return new Promise<RunResult>((resolve) => {
    execFile(
      command,
      args,
      { cwd, env, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

function versionOf(name: string): string {
  const file = join(repoRoot, 'node_modules', name, 'package.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Processes whose command line or working directory lies inside `dir`. */
function processesUnder(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      const cwd = readlinkSync(`/proc/${entry}/cwd`);
      if (cmdline.includes(dir) || cwd.startsWith(dir)) found.push(`${entry} ${cmdline.trim()}`);
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

function filesNamed(dir: string, pattern: RegExp): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).filter((path) => pattern.test(path));
}

const started = Date.now();

beforeAll(async () => {
  mkdirSync(packs);
  const packed = await run(
    'npm',
    ['pack', '--json', '--pack-destination', packs, ...PACKAGES.flatMap((p) => ['-w', p])],
    repoRoot,
  );
  expect(packed.stderr + packed.stdout, 'npm pack').not.toMatch(/npm error/);
  expect(packed.code).toBe(0);
  const tarballs = (JSON.parse(packed.stdout) as { name: string; filename: string }[]).map(
    ({ name, filename }) => [name, `file:${join(packs, filename)}`] as const,
  );
  expect(tarballs.map(([name]) => name).sort()).toEqual([
    '@e11/core',
    '@e11/emulators',
    '@e11/functions',
    '@e11/runner',
    '@e11/sdk',
  ]);

  cpSync(fixture, project, { recursive: true });
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify(
      {
        name: 'e11-consumer-check',
        private: true,
        type: 'module',
        dependencies: {
          ...Object.fromEntries(tarballs),
          // The app's own Google clients, injected into the service: Pub/Sub 6.2, not the 6.3.0 the
          // workspace builds with (the packages take Google clients as peers with ranges). Others as
          // the workspace has them, so the install comes from the npm cache.
          '@google-cloud/pubsub': '6.2.0',
          '@google-cloud/firestore': versionOf('@google-cloud/firestore'),
          '@google-cloud/run': versionOf('@google-cloud/run'),
          '@google-cloud/scheduler': versionOf('@google-cloud/scheduler'),
          rxjs: versionOf('rxjs'),
        },
        devDependencies: { typescript: versionOf('typescript'), '@types/node': versionOf('@types/node') },
      },
      null,
      2,
    ),
  );
  // The slowest step: about 530 packages (firebase-tools brings most) unpacked from the npm cache.
  // Without install scripts: none of the E11 packages has one, and the third-party ones are not what
  // this checks (re2, optional under firebase-tools, would compile C++ for minutes: no prebuilt binary
  // can be downloaded offline).
  const installed = await run(
    'npm',
    ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'],
    project,
    toolEnv,
    1_200_000,
  );
  expect(installed.code, `npm install: ${installed.stderr}`).toBe(0);
}, 1_500_000);

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
  process.stdout.write(`consumer test: ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
});

describe('the packages installed from their tarballs into a project of its own', () => {
  it('install no test files', () => {
    const e11 = join(project, 'node_modules', '@e11');
    expect(readdirSync(e11).sort()).toEqual(['core', 'emulators', 'functions', 'runner', 'sdk']);
    expect(filesNamed(e11, /\.test\.(ts|js|d\.ts)$/)).toEqual([]);
  });

  it("share the app's own Google client versions (Pub/Sub 6.2.0), with no copy of their own", () => {
    const versionIn = (dir: string) =>
      (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
    expect(versionIn(join(project, 'node_modules', '@google-cloud', 'pubsub'))).toBe('6.2.0');
    const e11 = join(project, 'node_modules', '@e11');
    const nested = readdirSync(e11).filter((name) =>
      existsSync(join(e11, name, 'node_modules', '@google-cloud', 'pubsub')),
    );
    expect(nested).toEqual([]);
  });

  it('type-check a backend and a job with strict: true and skipLibCheck: false, and compile', async () => {
    const tsc = join(project, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], project);
    expect(result.stdout + result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(filesNamed(join(project, 'dist'), /\.js$/).sort()).toEqual([
      'backend.js',
      'entrypoint.js',
      'jobs/greet-job.js',
      'run-on-local-stack.js',
      'shared/greet.js',
    ]);
  }, 300_000);

  it("run jobs through the local stack started from the project's own @e11/emulators, leaving no process", async () => {
    const names = [
      'E11_FIRESTORE_PORT',
      'E11_FIRESTORE_WS_PORT',
      'E11_PUBSUB_PORT',
      'E11_HUB_PORT',
      'E11_LOGGING_PORT',
      'E11_BRIDGE_PORT',
      'E11_FUNCTIONS_PORT',
      'E11_CLOUD_RUN_PORT',
    ];
    // Ports of its own: the suite's emulators hold the E11_*_PORT set of this run.
    const ports: Record<string, string> = {};
    for (const name of names) ports[name] = String(await freePort());
    const env: NodeJS.ProcessEnv = { ...toolEnv, ...ports };
    for (const name of [
      'FIRESTORE_EMULATOR_HOST',
      'PUBSUB_EMULATOR_HOST',
      'E11_CLOUD_RUN_EMULATOR_HOST',
      'GOOGLE_CLOUD_PROJECT',
    ])
      delete env[name];
    const result = await run(process.execPath, ['dist/run-on-local-stack.js'], project, env, 300_000);
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.trim().split('\n');
    const outcome = JSON.parse(lines[lines.length - 1] ?? '') as {
      jobIds: string[];
      greetings: string[];
      pids: number[];
      failures: number;
      paths: { firebaseConfig: string; usingDefaults: boolean; stateDir: string };
      stateDirExists: boolean;
      env: Record<string, string>;
    };
    expect(outcome.jobIds).toHaveLength(2);
    expect(outcome.greetings).toEqual(['hello Ada', 'hello Grace']);
    expect(outcome.failures).toBe(0);
    // Each job ran as a task process of its own, not in the script.
    expect(new Set(outcome.pids).size).toBe(2);
    // No firebase.json in the project: the package's defaults, and the state in the project.
    expect(outcome.paths.usingDefaults).toBe(true);
    expect(outcome.paths.firebaseConfig).toBe(
      join(project, 'node_modules', '@e11', 'emulators', 'defaults', 'firebase.json'),
    );
    expect(outcome.paths.stateDir).toBe(join(project, '.e11'));
    expect(outcome.stateDirExists).toBe(true);
    expect(readdirSync(join(project, 'node_modules', '@e11', 'emulators'))).not.toContain('.e11');
    // The E11_*_PORT variables chose the ports.
    expect(outcome.env.FIRESTORE_EMULATOR_HOST).toBe(`127.0.0.1:${ports.E11_FIRESTORE_PORT}`);
    expect(outcome.env.PUBSUB_EMULATOR_HOST).toBe(`127.0.0.1:${ports.E11_PUBSUB_PORT}`);
    expect(outcome.env.E11_CLOUD_RUN_EMULATOR_HOST).toBe(`127.0.0.1:${ports.E11_CLOUD_RUN_PORT}`);
    expect(processesUnder(scratch)).toEqual([]);
  }, 300_000);
});
