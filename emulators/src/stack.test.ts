import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { isStackError } from './errors.js';
import { freePort } from './functions-server.js';
import { startGoogleEmulators } from './google-emulators.js';
import type { StackPorts } from './ports.js';
import { descendants } from './process-tree.js';
import { startStack } from './stack.js';

/** Free ports of its own: the bad-input cases below must not disturb the suite's emulators. */
const ports: StackPorts = {
  host: '127.0.0.1',
  firestore: await freePort(),
  firestoreWebsocket: await freePort(),
  pubsub: await freePort(),
  hub: await freePort(),
  logging: await freePort(),
  bridge: await freePort(),
  functions: await freePort(),
  cloudRun: await freePort(),
};
const before = new Set(descendants(process.pid));
/** Processes this test started that are still alive. */
const leftovers = () => descendants(process.pid).filter((pid) => !before.has(pid));

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

/** Runs startGoogleEmulators in a child process with `env`, capturing its output and exit code. */
function startInChild(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const script = `import(${JSON.stringify(new URL('./index.js', import.meta.url).href.replace('/src/', '/dist/'))})
    .then((m) => m.startGoogleEmulators({ ports: ${JSON.stringify(ports)} }))
    .then((e) => e.stop())
    .catch((error) => { process.stderr.write(error.message + '\\n'); process.exit(1); });`;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, ...env },
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.once('exit', (code) => resolve({ code, output }));
  });
}

describe('starting the stack with bad input', () => {
  it('stops with one clear line naming a port that is taken, and starts nothing', async () => {
    const blocker = await listen(ports.pubsub);
    const pattern = new RegExp(
      `^Port ${ports.pubsub} \\(Pub/Sub emulator\\) on 127\\.0\\.0\\.1 is already in use`,
    );
    try {
      const error = await startGoogleEmulators({ ports }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isStackError(error, 'E11_PORT_IN_USE')).toBe(true);
      expect((error as Error).message).toMatch(pattern);
      expect((error as Error).message.split('\n')).toHaveLength(1);
      expect(leftovers()).toEqual([]);
    } finally {
      blocker.close();
    }
  });

  it('refuses a Cloud Run emulator port that is taken before starting any emulator', async () => {
    const blocker = await listen(ports.cloudRun);
    try {
      const error = await startStack({ ports, cloudRun: { jobs: {} } }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isStackError(error, 'E11_PORT_IN_USE')).toBe(true);
      expect((error as Error).message).toContain(`Port ${ports.cloudRun} (Cloud Run emulator)`);
      expect(leftovers()).toEqual([]);
    } finally {
      blocker.close();
    }
  });

  it('says Java is missing in one line when there is no java on PATH', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'e11-nojava-'));
    const { code, output } = await startInChild({ PATH: empty });
    expect(code).toBe(1);
    expect(output.trim()).toMatch(
      /^Java is not installed: the Firestore and Pub\/Sub emulators need Java 11\+/,
    );
    expect(output.trim().split('\n')).toHaveLength(1);
  });

  it('says Java is too old in one line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'e11-oldjava-'));
    const java = join(dir, 'java');
    writeFileSync(java, '#!/bin/sh\necho \'java version "1.8.0_292"\' >&2\n');
    chmodSync(java, 0o755);
    const { code, output } = await startInChild({ PATH: `${dir}:${process.env.PATH ?? ''}` });
    expect(code).toBe(1);
    expect(output.trim()).toMatch(/^Java 8 found, but the emulators need Java 11\+/);
  });

  it('gives up after the start bound with one line and leaves no emulator process', async () => {
    const error = await startGoogleEmulators({ ports, startTimeoutMs: 1 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isStackError(error, 'E11_STACK_START_TIMEOUT')).toBe(true);
    expect((error as Error).message).toMatch(/did not answer within 0 s/);
    expect(leftovers()).toEqual([]);
  });

  it('turns a missing or invalid Cloud Run job config into a StackError with a config code', async () => {
    // Nothing is contacted before the job definitions are read: the attach hosts are never used.
    const attach = {
      firestoreHost: '127.0.0.1:1',
      pubsubHost: '127.0.0.1:1',
      bridgeUrl: 'http://127.0.0.1:1',
    };
    const missing = await startStack({ attach, cloudRun: join(tmpdir(), 'no-such-cloud-run.json') }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isStackError(missing, 'E11_STACK_CONFIG_NOT_FOUND')).toBe(true);
    expect((missing as Error).message).toMatch(
      /Cloud Run emulator config file not found: .*no-such-cloud-run\.json/,
    );
    const invalid = await startStack({ attach, cloudRun: { jobs: { Bad_Id: { command: 'node' } } } }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isStackError(invalid, 'E11_STACK_CONFIG_INVALID')).toBe(true);
    expect((invalid as Error).message).toMatch(/job ids must be RFC 1035 labels/);
    expect(leftovers()).toEqual([]);
  });
});
