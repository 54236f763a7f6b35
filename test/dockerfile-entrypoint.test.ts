import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { createFirestore, type JobCompletedEvent } from '@e11/core';
import { createPubSub } from '@e11/core/engine';
import { type Stack, startStack } from '@e11/emulators';
import type { OrchestrationService } from '@e11/sdk';
import { subscribeToJobCompleted } from '@e11/sdk';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { stackService, storeFor, suiteEmulators, testProjectId } from './helpers/project.js';
import { waitForJob } from './helpers/runner.js';

/**
 * The example job image, without a Docker engine: examples/Dockerfile is parsed and checked for what
 * a production image needs, then its runtime stage's file layout is rebuilt in a temporary directory
 * (its COPY lines replayed; node_modules linked instead of `npm ci`) and the image's exact ENTRYPOINT
 * runs there as the Cloud Run emulator's task command — a real job run, and a real SIGTERM.
 */
const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const DOCKERFILE = readFileSync(join(REPO_ROOT, 'examples/Dockerfile'), 'utf8');
const DOCKERIGNORE = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8');

interface Instruction {
  keyword: string;
  args: string;
}

/** The Dockerfile's instructions per stage (comments dropped, continuation lines joined). */
function parseDockerfile(text: string): Instruction[][] {
  const logical = text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const stages: Instruction[][] = [];
  for (const line of logical) {
    const [, keyword = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const instruction = { keyword: keyword.toUpperCase(), args };
    if (instruction.keyword === 'FROM') stages.push([]);
    stages.at(-1)?.push(instruction);
  }
  return stages;
}

const stages = parseDockerfile(DOCKERFILE);
const runtime = stages.at(-1) ?? [];
const instructions = (keyword: string) => runtime.filter((i) => i.keyword === keyword);
const entrypoint = JSON.parse(instructions('ENTRYPOINT').at(-1)?.args ?? 'null') as string[] | null;

describe('examples/Dockerfile', () => {
  it('builds in stages: the compiler stays in the build stage', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(stages[0]?.some((i) => i.keyword === 'RUN' && /\btsc\b/.test(i.args))).toBe(true);
    expect(runtime.some((i) => i.keyword === 'RUN' && /\btsc\b/.test(i.args))).toBe(false);
    expect(instructions('COPY').filter((i) => i.args.startsWith('--from=build')).length).toBeGreaterThan(0);
  });

  it('installs production dependencies only, from the lock file', () => {
    const installs = instructions('RUN').filter((i) => /\bnpm (ci|install)\b/.test(i.args));
    expect(installs).toHaveLength(1);
    expect(installs[0]?.args).toMatch(/\bnpm ci\b/);
    expect(installs[0]?.args).toMatch(/--omit=dev\b/);
    expect(instructions('COPY').some((i) => /\bpackage-lock\.json\b/.test(i.args))).toBe(true);
  });

  it('copies the manifest and the build output of every @e11 workspace the job depends on', () => {
    // The job's production dependencies among this repository's workspaces, followed through theirs.
    const manifestOf = (dir: string) =>
      JSON.parse(readFileSync(join(REPO_ROOT, dir, 'package.json'), 'utf8')) as {
        dependencies?: Record<string, string>;
      };
    const workspaceDirs = new Map<string, string>(
      [
        'packages/core',
        'packages/sdk',
        'packages/runner',
        'packages/functions',
        'packages/cli',
        'emulators',
      ].map((dir) => [`@e11/${dir.split('/').pop() ?? ''}`, dir]),
    );
    const needed = new Set<string>();
    const visit = (dir: string) => {
      for (const name of Object.keys(manifestOf(dir).dependencies ?? {})) {
        const workspace = workspaceDirs.get(name);
        if (workspace === undefined || needed.has(workspace)) continue;
        needed.add(workspace);
        visit(workspace);
      }
    };
    visit('examples');
    expect([...needed].sort()).toEqual(['packages/core', 'packages/runner', 'packages/sdk']);
    const copies = instructions('COPY').map((i) => i.args);
    for (const dir of needed) {
      expect(copies).toContain(`${dir}/package.json ${dir}/`);
      expect(copies).toContain(`--from=build /app/${dir}/dist ${dir}/dist`);
    }
  });

  it('runs as a non-root user', () => {
    const user = instructions('USER').at(-1)?.args;
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
  });

  it('starts node directly in exec form, so SIGTERM reaches the runner', () => {
    // JSON (exec) form: no /bin/sh -c in between that would swallow the signal.
    expect(entrypoint).toEqual(['node', expect.stringMatching(/\.js$/) as unknown]);
    expect(instructions('CMD')).toHaveLength(0);
  });

  it('keeps host dependencies and build output out of the build context', () => {
    const ignored = DOCKERIGNORE.split('\n').map((line) => line.trim());
    expect(ignored).toEqual(expect.arrayContaining(['**/node_modules', '**/dist', '.git', '.env']));
  });
});

const projectId = testProjectId('docker-image');
const TOPIC = 'docker-image-completed';
const firestore = createFirestore({ projectId, emulatorHost: inject('firestoreHost') });
const pubsub = createPubSub({ projectId, emulatorHost: inject('pubsubHost') });
const appDir = mkdtempSync(join(tmpdir(), 'e11-image-app-'));
const bigLedger = join(appDir, 'examples/data/sales/2099-01.csv');
let stack: Stack;
let orchestrations: OrchestrationService;
let taskOutput = '';

/** The runtime stage's files at `appDir` (its WORKDIR): every COPY replayed from the repository. */
function buildImageLayout(): void {
  for (const { args } of instructions('COPY')) {
    const words = args.split(/\s+/);
    const fromBuild = words[0]?.startsWith('--from=');
    const paths = words.filter((word) => !word.startsWith('--'));
    const target = paths.pop() ?? '';
    for (const source of paths) {
      // The build stage's WORKDIR is /app too, and its dist folders are the repository's after `npm test`'s build.
      const relative = fromBuild ? source.replace(/^\/app\//, '') : source;
      const destination = target.endsWith('/')
        ? join(appDir, target, relative.split('/').pop() ?? '')
        : join(appDir, target);
      mkdirSync(dirname(destination), { recursive: true });
      cpSync(join(REPO_ROOT, relative), destination, { recursive: true });
    }
  }
  // Stands in for `npm ci --omit=dev`: the repository's installed dependencies.
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(appDir, 'node_modules'));
  // A month with a ledger of millions of rows: the job is surely still reading when the SIGTERM comes.
  const rows = Array.from({ length: 10_000 }, (_, i) => `209901-${i},2099-01-02,north,rug,1,100\n`).join('');
  writeFileSync(bigLedger, `order_id,date,region,product,quantity,unit_price_cents\n${rows.repeat(400)}`);
}

beforeAll(async () => {
  buildImageLayout();
  const [command = '', ...args] = entrypoint ?? [];
  stack = await startStack({
    projectId,
    attach: suiteEmulators(),
    cloudRun: {
      jobs: {
        'sum-sales': {
          command,
          args,
          cwd: appDir,
          maxRetries: 0,
          env: { E11_TERMINATION_GRACE_MS: '2000' },
        },
      },
    },
    cloudRunOptions: {
      onTaskOutput: (_, chunk) => {
        taskOutput += chunk;
      },
    },
    topics: [TOPIC],
    sweepIntervalMs: 0,
  });
  orchestrations = stackService(stack, { projectId, firestore, pubsub, defaultTopic: TOPIC });
});

afterAll(async () => {
  await orchestrations.close();
  await stack.stop();
  await pubsub.close();
  await firestore.terminate();
  rmSync(appDir, { recursive: true, force: true });
});

describe("the image's entrypoint", () => {
  it('sums the twelve monthly ledgers in Cloud Run tasks: eleven succeed, the corrupt July fails', async () => {
    const events: JobCompletedEvent[] = [];
    let arrived: () => void = () => undefined;
    const ended = new Promise<void>((resolve) => (arrived = resolve));
    const subscription = await subscribeToJobCompleted(pubsub, { topic: TOPIC }, (event) => {
      events.push(event);
      arrived();
      return Promise.resolve();
    });
    try {
      const months = Array.from({ length: 12 }, (_, i) => ({
        month: `2026-${String(i + 1).padStart(2, '0')}`,
      }));
      const { orchestrationId, jobIds } = await orchestrations.kickOffJob('sum_sales', months);
      await ended;
      expect(events).toMatchObject([
        { orchestrationId, status: 'Errored', total: 12, succeeded: 11, failed: 1 },
      ]);
      const [successes, failures] = await orchestrations.getJobResults(orchestrationId);
      expect(successes).toHaveLength(11);
      expect(failures?.map((f) => f.params)).toEqual([{ month: '2026-07' }]);
      expect(failures?.[0]?.error.code).toBe('E11_PERMANENT');
      // Every task recorded its job's end, July's failure too: each exits 0 (Cloud Run retries nothing).
      const executions = stack.cloudRun.listExecutions().filter((e) => jobIds.includes(e.env.JOB_ID ?? ''));
      const finished = await Promise.all(executions.map((e) => stack.cloudRun.waitForExecution(e.name)));
      const exitCodes = new Map(finished.map((e) => [e.env.JOB_ID, e.tasks[0]?.exitCode]));
      expect(exitCodes.size).toBe(12);
      expect([...exitCodes.values()].filter((code) => code === 0)).toHaveLength(12);
    } finally {
      await subscription.close();
    }
  });

  it('is node itself in the task, so a SIGTERM reaches the runner, which gives the job back and exits 143', async () => {
    const { orchestrationId, jobIds } = await orchestrations.kickOffJob('sum_sales', [{ month: '2099-01' }]);
    const jobId = jobIds[0] ?? '';
    // Reading its ledger: the job reported progress.
    await waitForJob(storeFor(firestore), orchestrationId, jobId, (job) => job.progress !== null);
    const execution = stack.cloudRun.listExecutions().find((e) => e.env.JOB_ID === jobId);
    const pid = execution?.tasks[0]?.pids.at(-1) ?? 0;
    // The process Cloud Run signals is node running the entrypoint: no shell in between.
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    expect(argv.slice(1)).toEqual(entrypoint?.slice(1));
    expect(argv[0]).toMatch(/(^|\/)node$/);

    expect(await stack.cloudRun.faults.killTask(execution?.name ?? '', 0, 'SIGTERM')).toBe(true);
    const done = await stack.cloudRun.waitForExecution(execution?.name ?? '');
    expect(done.tasks[0]).toMatchObject({ exitCode: 143 });
    expect(taskOutput).toContain('Received SIGTERM: stopping the job.');
    const job = await waitForJob(storeFor(firestore), orchestrationId, jobId, (j) => j.status === 'Pending');
    expect(job.attempts.at(-1)).toMatchObject({ outcome: 'Interrupted' });
    expect(job.result).toBeNull();
    // Given back with an attempt left; this test ends the orchestration itself (no sweeper here).
    await orchestrations.cancel(orchestrationId);
  });
});
