import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { type OrchestrationInfo } from '@e11/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { captureIo } from './helpers/capture.js';
import {
  claim,
  detectCompletion,
  ensureTopic,
  monitoringService,
  runToCompletion,
  runToFailure,
} from './helpers/monitoring.js';
import { emulatorClients, storeFor, testProjectId } from './helpers/project.js';

// The CLI's entry point, run in-process with captured output (the built file is spawned in cli-process.test.ts).
const { runCli, traceUrl } = await import('@e11/cli');

const projectId = testProjectId('cli-commands');
const { firestore, pubsub } = emulatorClients(projectId);
let dir: string;
let prefixes = 0;

/** Runs `e11 <argv>` against a collection prefix of its own; returns the exit code and the output. */
async function e11(
  argv: string[],
  options: { prefix?: string; tty?: boolean; signal?: AbortSignal; env?: Record<string, string> } = {},
) {
  const io = captureIo(options);
  const prefix = options.prefix ?? 'c_';
  const code = await runCli(argv, io, () => monitoringService(firestore, pubsub, prefix));
  return { code, stdout: io.stdout.text, stderr: io.stderr.text, io };
}

/** Starts `e11 <argv>` and hands back its io while it runs. */
function start(argv: string[], options: { prefix: string; tty?: boolean; signal?: AbortSignal }) {
  const io = captureIo(options);
  const done = runCli(argv, io, () => monitoringService(firestore, pubsub, options.prefix));
  return { io, done };
}

async function paramsFile(name: string, content: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

/** A service on a prefix of its own, to set up state directly. */
function serviceFor(prefix: string) {
  return monitoringService(firestore, pubsub, prefix);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'e11-cli-'));
  await ensureTopic(pubsub);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await firestore.terminate();
  await pubsub.close();
});

describe('e11 kickoff', () => {
  it('kicks off one job per line of a JSON Lines file, with tags', async () => {
    const file = await paramsFile('ok.jsonl', '{"file":"a.csv"}\n\n{"file":"b.csv"}\n');
    const { code, stdout, stderr } = await e11([
      '--json',
      'kickoff',
      'process_batch',
      '--params',
      file,
      '--tag',
      'customerId=acme',
    ]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const result = JSON.parse(stdout) as {
      orchestrationId: string;
      jobIds: string[];
      launch: { launched: number };
    };
    expect(result.jobIds).toHaveLength(2);
    expect(result.launch.launched).toBe(2);
    const service = serviceFor('c_');
    expect(await service.getOrchestration(result.orchestrationId)).toMatchObject({
      total: 2,
      tags: { customerId: 'acme' },
    });
    expect((await service.getJob(result.orchestrationId, result.jobIds[1] as string)).params).toEqual({
      file: 'b.csv',
    });

    const human = await e11(['kickoff', 'process_batch', '--params', file]);
    expect(human.stdout).toMatch(/^Kicked off 2 × process_batch: [0-9a-f-]{36}\n$/);
  });

  it('names the line of a bad params file in one line and exits 2, writing nothing', async () => {
    const prefix = `k${++prefixes}_`;
    const file = await paramsFile('bad.jsonl', '{"ok":1}\n{"broken":\n');
    const { code, stdout, stderr } = await e11(['kickoff', 'process_batch', '--params', file], { prefix });
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(
      new RegExp(
        `^e11: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} line 2: not valid JSON \\(.+\\)\\. \\(E11_INVALID_PARAMS\\)\\n$`,
      ),
    );
    expect((await serviceFor(prefix).listOrchestrations()).items).toEqual([]);

    const missing = await e11(['kickoff', 'process_batch', '--params', join(dir, 'nope.jsonl')], { prefix });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(
      /^e11: Cannot read the params file .*nope\.jsonl: no such file\. \(E11_INVALID_OPTIONS\)\n$/,
    );
    const badTag = await e11(['kickoff', 'process_batch', '--params', file, '--tag', 'novalue'], { prefix });
    expect(badTag).toMatchObject({
      code: 2,
      stderr: "e11: --tag: expected key=value, got 'novalue'. (E11_INVALID_OPTIONS)\n",
    });
  });
});

describe('e11 status', () => {
  it('prints the orchestration, or JSON with --json', async () => {
    const service = serviceFor('c_');
    const store = storeFor(firestore, { collectionPrefix: 'c_' });
    const { orchestrationId, jobIds } = await service.kickOffJob('process_batch', [{ a: 1 }, { a: 2 }]);
    await runToCompletion(store, orchestrationId, jobIds[0] as string);
    const human = await e11(['status', orchestrationId]);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`orchestration  ${orchestrationId}`);
    expect(human.stdout).toMatch(
      /status\s+InProgress\s+1\/2 \(50%\)\s+completed 1\s+errored 0\s+running 0\s+pending 1/,
    );
    const json = await e11(['--json', 'status', orchestrationId]);
    expect(JSON.parse(json.stdout)).toMatchObject({
      id: orchestrationId,
      counts: { completed: 1, pending: 1 },
    });
  });

  it('exits 3 with one line for an unknown id, and prints the stack only with E11_DEBUG=1', async () => {
    const { code, stdout, stderr } = await e11(['status', 'nope']);
    expect(code).toBe(3);
    expect(stdout).toBe('');
    expect(stderr).toBe('e11: Orchestration nope does not exist. (E11_UNKNOWN_ORCHESTRATION)\n');
    const debug = await e11(['status', 'nope'], { env: { E11_DEBUG: '1' } });
    expect(debug.stderr.split('\n').length).toBeGreaterThan(3);
    expect(debug.stderr).toContain('at ');
  });
});

describe('e11 watch', () => {
  it('prints a status line per change until the end and exits 1 when a job failed', async () => {
    const prefix = `w${++prefixes}_`;
    const service = serviceFor(prefix);
    const store = storeFor(firestore, { collectionPrefix: prefix });
    const { orchestrationId, jobIds } = await service.kickOffJob('process_batch', [{ a: 1 }, { a: 2 }]);
    const watch = start(['watch', orchestrationId], { prefix });
    await watch.io.stdout.waitFor(/InProgress\s+0\/2/);
    await runToCompletion(store, orchestrationId, jobIds[0] as string);
    await watch.io.stdout.waitFor(/1\/2 \(50%\)/);
    await runToFailure(store, orchestrationId, jobIds[1] as string);
    await detectCompletion(store, pubsub, orchestrationId);
    expect(await watch.done).toBe(1);
    expect(watch.io.stdout.lines.at(-1)).toMatch(
      /^Finished: Errored\s+2\/2 \(100%\)\s+completed 1\s+errored 1/,
    );
    expect(watch.io.stderr.text).toBe('');
  });

  it('draws a progress bar on a terminal and exits 0 when every job completed', async () => {
    const prefix = `w${++prefixes}_`;
    const service = serviceFor(prefix);
    const store = storeFor(firestore, { collectionPrefix: prefix });
    const { orchestrationId, jobIds } = await service.kickOffJob('process_batch', [{ a: 1 }, { a: 2 }]);
    const watch = start(['watch', orchestrationId], { prefix, tty: true });
    await watch.io.stderr.waitFor(/0\/2/);
    for (const jobId of jobIds) await runToCompletion(store, orchestrationId, jobId);
    await detectCompletion(store, pubsub, orchestrationId);
    expect(await watch.done).toBe(0);
    expect(watch.io.stderr.text).toMatch(/█+ 100% \| 2\/2 \| Completed/);
    expect(watch.io.stdout.text).toMatch(/^Finished: Completed/);
  });

  it('prints one JSON object per snapshot with --json', async () => {
    const prefix = `w${++prefixes}_`;
    const service = serviceFor(prefix);
    const store = storeFor(firestore, { collectionPrefix: prefix });
    const { orchestrationId, jobIds } = await service.kickOffJob('process_batch', [{ a: 1 }]);
    const watch = start(['--json', 'watch', orchestrationId], { prefix });
    await watch.io.stdout.waitFor(/\n/);
    await runToCompletion(store, orchestrationId, jobIds[0] as string);
    await detectCompletion(store, pubsub, orchestrationId);
    expect(await watch.done).toBe(0);
    const snapshots = watch.io.stdout.lines.map((line) => JSON.parse(line) as OrchestrationInfo);
    expect(snapshots[0]).toMatchObject({ id: orchestrationId, progress: 0 });
    expect(snapshots.at(-1)).toMatchObject({ status: 'Completed', progress: 1 });
  });

  it('exits 4 on --timeout, 3 for an unknown id, and 130 when interrupted', async () => {
    const prefix = `w${++prefixes}_`;
    const { orchestrationId } = await serviceFor(prefix).kickOffJob('process_batch', [{ a: 1 }]);
    const timedOut = await e11(['watch', orchestrationId, '--timeout', '300ms'], { prefix });
    expect(timedOut.code).toBe(4);
    expect(timedOut.stderr).toBe(
      `e11: Orchestration ${orchestrationId} did not end within 300 ms. (E11_TIMEOUT)\n`,
    );
    expect((await e11(['watch', 'nope'], { prefix })).code).toBe(3);
    const controller = new AbortController();
    const watch = start(['watch', orchestrationId], { prefix, signal: controller.signal });
    await watch.io.stdout.waitFor(/InProgress/);
    controller.abort();
    expect(await watch.done).toBe(130);
  });
});

describe('e11 results, retry, cancel and dlq', () => {
  it('prints failures with redacted params and exits 1; retry reopens them; dlq lists, retries and discards', async () => {
    const prefix = `r${++prefixes}_`;
    const service = serviceFor(prefix);
    const store = storeFor(firestore, { collectionPrefix: prefix });
    const { orchestrationId, jobIds } = await service.kickOffJob(
      'process_batch',
      [
        { file: 'a.csv', token: 'T1' },
        { file: 'b.csv', token: 'T2' },
        { file: 'c.csv', token: 'T3' },
      ],
      { sensitiveKeys: ['token'] },
    );
    const [a, b, c] = jobIds as [string, string, string];
    await runToCompletion(store, orchestrationId, a, { rows: 10 });
    await runToFailure(store, orchestrationId, b, 'bad row 7');
    await runToFailure(store, orchestrationId, c, 'timeout\ncalling api');
    await detectCompletion(store, pubsub, orchestrationId);

    const results = await e11(['results', orchestrationId], { prefix });
    expect(results.code).toBe(1);
    expect(results.stdout).toContain('1 succeeded, 2 failed');
    expect(results.stdout).toContain(`#1 ${b}  Errored  E11_JOB_FAILED: bad row 7`);
    expect(results.stdout).toContain('timeout calling api');
    expect(results.stdout).toContain('params {"file":"b.csv","token":"[REDACTED]"}  (dead-lettered)');
    expect(results.stdout).not.toContain('T2');
    const json = JSON.parse((await e11(['--json', 'results', orchestrationId], { prefix })).stdout) as {
      succeeded: number;
      failures: { jobId: string; params: unknown }[];
    };
    expect(json.succeeded).toBe(1);
    expect(json.failures.map((f) => f.params)).toEqual([
      { file: 'b.csv', token: '[REDACTED]' },
      { file: 'c.csv', token: '[REDACTED]' },
    ]);

    const listed = await e11(['dlq', 'list', '--orchestration', orchestrationId], { prefix });
    expect(listed.code).toBe(0);
    expect(listed.stdout.split('\n')[0]).toMatch(
      /^ORCHESTRATION\s+JOB\s+#\s+NAME\s+ATTEMPTS\s+ERROR\s+PARAMS$/,
    );
    expect(listed.stdout).toContain(b);
    expect(listed.stdout).not.toContain('T3');

    const discarded = await e11(['dlq', 'discard', orchestrationId, '--job', c], { prefix });
    expect(discarded).toMatchObject({ code: 0, stdout: 'Discarded 1 job(s).\n' });
    const retried = await e11(['dlq', 'retry', orchestrationId], { prefix });
    expect(retried).toMatchObject({ code: 0, stdout: 'Retrying 1 dead-lettered job(s) in run 2.\n' });
    expect((await service.getJob(orchestrationId, b)).status).toBe('Pending');
    expect((await service.getJob(orchestrationId, c)).status).toBe('Errored');
    expect(
      (await e11(['--json', 'dlq', 'list', '--orchestration', orchestrationId], { prefix })).stdout,
    ).toBe('[]\n');
    expect((await e11(['dlq', 'retry', orchestrationId], { prefix })).stdout).toBe(
      'No dead-lettered jobs to retry.\n',
    );
    expect((await e11(['retry', orchestrationId], { prefix })).stdout).toBe(
      'Nothing to retry: no failed jobs.\n',
    );

    const cancelled = await e11(['cancel', orchestrationId], { prefix });
    expect(cancelled).toMatchObject({ code: 0, stdout: 'Cancelled 1 job(s) and 1 execution(s).\n' });
    expect((await service.getOrchestration(orchestrationId)).status).toBe('Cancelled');
    expect((await e11(['retry', 'nope'], { prefix })).code).toBe(3);
  });

  it('retry relaunches every failed job of an orchestration', async () => {
    const prefix = `r${++prefixes}_`;
    const service = serviceFor(prefix);
    const store = storeFor(firestore, { collectionPrefix: prefix });
    const { orchestrationId, jobIds } = await service.kickOffJob('process_batch', [{ a: 1 }]);
    await runToFailure(store, orchestrationId, jobIds[0] as string);
    await detectCompletion(store, pubsub, orchestrationId);
    const retried = await e11(['--json', 'retry', orchestrationId], { prefix });
    expect(retried.code).toBe(0);
    expect(JSON.parse(retried.stdout)).toMatchObject({
      epoch: 2,
      jobIds,
      launch: { launched: 1, failed: 0 },
    });
    expect(await service.getOrchestration(orchestrationId)).toMatchObject({ status: 'InProgress', epoch: 2 });
  });
});

describe('e11 history and metrics', () => {
  it('lists orchestrations newest first with a cursor for the next page, and refuses a bad cursor', async () => {
    const prefix = `h${++prefixes}_`;
    const service = serviceFor(prefix);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++)
      ids.push(
        (await service.kickOffJob(i === 2 ? 'make_report' : 'process_batch', [{ i }])).orchestrationId,
      );
    const first = await e11(['history', '--limit', '2'], { prefix });
    expect(first.code).toBe(0);
    const lines = first.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+JOB\s+STATUS\s+PROGRESS\s+ERRORED\s+CREATED$/);
    expect(lines[1]).toContain(ids[2]);
    const cursor = /^more: --cursor (\S+)$/.exec(lines.at(-1) ?? '')?.[1];
    expect(cursor).toBeDefined();
    const second = JSON.parse(
      (await e11(['--json', 'history', '--limit', '2', '--cursor', cursor as string], { prefix })).stdout,
    ) as {
      items: { id: string }[];
      nextCursor: string | null;
    };
    expect(second.items.map((item) => item.id)).toEqual([ids[0]]);
    expect(second.nextCursor).toBeNull();
    const filtered = await e11(['--json', 'history', '--job-name', 'make_report', '--since', '1h'], {
      prefix,
    });
    expect((JSON.parse(filtered.stdout) as { items: unknown[] }).items).toHaveLength(1);

    const bad = await e11(['history', '--cursor', 'garbage'], { prefix });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(
      'e11: Invalid cursor: not a cursor returned by listOrchestrations. Start again without a cursor. (E11_INVALID_CURSOR)\n',
    );
    const otherFilters = await e11(
      ['history', '--limit', '2', '--job-name', 'make_report', '--cursor', cursor as string],
      { prefix },
    );
    expect(otherFilters.code).toBe(2);
  });

  it('prunes with --dry-run and reports metrics as a table or JSON', async () => {
    const prefix = `h${++prefixes}_`;
    const service = serviceFor(prefix);
    const store = storeFor(firestore, { collectionPrefix: prefix });
    const { orchestrationId, jobIds } = await service.kickOffJob('process_batch', [{ a: 1 }, { a: 2 }]);
    await runToCompletion(store, orchestrationId, jobIds[0] as string);
    await claim(store, orchestrationId, jobIds[1] as string);
    const prune = await e11(['history', 'prune', '--days', '30', '--dry-run'], { prefix });
    expect(prune.code).toBe(0);
    expect(prune.stdout).toMatch(
      /^Would delete 0 orchestration\(s\) created before \S+; kept 0 unfinished\.\n$/,
    );
    expect((await e11(['history', 'prune'], { prefix })).code).toBe(2);

    const table = await e11(['metrics'], { prefix });
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(
      /JOB\s+DISPATCHED\s+COMPLETED\s+FAILED\s+RETRIED\s+PENDING\s+RUNNING\s+P50 \/ P90 \/ P99/,
    );
    expect(table.stdout).toMatch(/process_batch\s+2\s+1\s+0\s+0\s+0\s+1\s+\d+ms/);
    const json = JSON.parse(
      (await e11(['--json', 'metrics', '--job-name', 'process_batch'], { prefix })).stdout,
    ) as {
      jobs: Record<string, { dispatched: number; running: number }>;
    };
    expect(json.jobs.process_batch).toMatchObject({ dispatched: 2, running: 1 });
  });
});

describe('e11 usage', () => {
  it('exits 2 with one line for an unknown command or option, 0 for --help', async () => {
    const unknown = await e11(['statu', 'x']);
    expect(unknown).toMatchObject({
      code: 2,
      stderr: "e11: unknown command 'statu' (Did you mean status?)\n",
    });
    const option = await e11(['status', 'x', '--nope']);
    expect(option).toMatchObject({ code: 2, stderr: "e11: unknown option '--nope'\n" });
    const missing = await e11(['status']);
    expect(missing).toMatchObject({ code: 2, stderr: "e11: missing required argument 'id'\n" });
    const help = await e11(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: e11');
  });
});

describe('e11 dashboard', () => {
  it('serves the dashboard until interrupted', async () => {
    const controller = new AbortController();
    const run = start(['--json', 'dashboard', '--port', '0'], { prefix: 'c_', signal: controller.signal });
    await run.io.stdout.waitFor(/\n/);
    const { url } = JSON.parse(run.io.stdout.text) as { url: string };
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>E11 Jobs</title>');
    controller.abort();
    expect(await run.done).toBe(0);
    await expect(fetch(url)).rejects.toThrow();
  });

  it('links trace ids with --trace-url, and refuses a template without {traceId}', async () => {
    const template = 'http://localhost:16686/trace/{traceId}';
    const { orchestrationId } = await serviceFor('c_').kickOffJob('process_batch', [{ file: 'a.csv' }]);
    const controller = new AbortController();
    const run = start(['--json', 'dashboard', '--port', '0', '--trace-url', template], {
      prefix: 'c_',
      signal: controller.signal,
    });
    await run.io.stdout.waitFor(/\n/);
    const { url } = JSON.parse(run.io.stdout.text) as { url: string };
    const info = (await (await fetch(new URL(`/api/orchestrations/${orchestrationId}`, url))).json()) as {
      traceId?: string | null;
      links: { trace: string | null };
    };
    expect(info.links.trace).toBe(traceUrl(template, { projectId, traceId: info.traceId }));
    controller.abort();
    expect(await run.done).toBe(0);

    const bad = await e11(['dashboard', '--port', '0', '--trace-url', 'https://example.com/traces']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('traceUrlTemplate must be an http(s) URL containing {traceId}');
  });
});
