import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';

import { StackError } from './errors.js';

/** Options for {@link startFunctionsServer}. */
export interface FunctionsServerOptions {
  /** Port to listen on; 0 picks a free one. @default 0 */
  port?: number;
  /**
   * Extra environment of the function process (on top of this process's), e.g.
   * FIRESTORE_EMULATOR_HOST, PUBSUB_EMULATOR_HOST or E11_LOG_LEVEL.
   */
  env?: Record<string, string>;
  /** The function to serve. @default 'onJobWritten' */
  target?: string;
  /** `http`, `event` or `cloudevent` (a function registered in code keeps its own). @default 'cloudevent' */
  signatureType?: 'http' | 'event' | 'cloudevent';
  /** The package directory the Functions Framework loads (its package.json `main`). @default @e11/functions */
  source?: string;
  /** How long to wait for the server to answer. @default 30000 */
  startTimeoutMs?: number;
}

/** A running Functions Framework server (a child process). */
export interface FunctionsServer {
  /** `http://127.0.0.1:{port}/` — where to POST CloudEvents. */
  readonly url: string;
  readonly port: number;
  /** Everything the process printed so far (stdout and stderr, interleaved; the last 4 MiB). */
  output(): string;
  /** Resolves once the output matches `pattern`; rejects after `timeoutMs` or when the process exits. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** True while a server process runs (false after {@link kill} until {@link restart}). */
  readonly running: boolean;
  /**
   * Sends `signal` to the server process and resolves once it has exited — a crash of the function
   * host, for fault tests. Deliveries to {@link url} then fail until {@link restart}.
   * @default signal 'SIGKILL'
   */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /**
   * Kills the running process (SIGKILL), if any, and starts a fresh one on the same port and with the
   * same options; resolves once it answers HTTP. The output of every process is kept, in order.
   */
  restart(): Promise<void>;
  /** Stops the process (SIGTERM, then SIGKILL after 5 s) and resolves when it has exited. Single-flight. */
  stop(): Promise<void>;
}

const OUTPUT_LIMIT = 4 * 1024 * 1024;

/** The Functions Framework CLI script, from its package.json `bin`, resolved from `fromDir`. */
export function functionsFrameworkBin(fromDir: string): string {
  const main = createRequire(join(fromDir, 'package.json')).resolve('@google-cloud/functions-framework');
  // build/src/index.js → the package root (its package.json is not in `exports`).
  let root = dirname(main);
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
        name?: string;
        bin?: string | Record<string, string>;
      };
      if (pkg.name === '@google-cloud/functions-framework') {
        const bin = typeof pkg.bin === 'string' ? pkg.bin : pkg.bin?.['functions-framework'];
        if (!bin) break;
        return join(root, bin);
      }
    } catch {
      // no package.json at this level
    }
    const parent = dirname(root);
    if (parent === root) break;
    root = parent;
  }
  throw new StackError('E11_STACK_START_FAILED', 'Could not find the Functions Framework CLI (its `bin`).');
}

/** The directory of the @e11/functions package. */
export function functionsPackageDir(): string {
  // dist/index.js of @e11/functions → its package directory.
  return dirname(dirname(createRequire(import.meta.url).resolve('@e11/functions')));
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function answers(url: string): Promise<boolean> {
  try {
    // Any HTTP answer (a GET on a CloudEvent function is a 404) means the server listens.
    const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
    await response.body?.cancel();
    return true;
  } catch {
    return false;
  }
}

/** One server process: its handle, whether it has exited, and a promise of its exit. */
interface ServerProcess {
  child: ChildProcess;
  exited: boolean;
  exit: Promise<void>;
}

/**
 * Starts the real Functions Framework CLI (`functions-framework --target … --signature-type …
 * --source <@e11/functions>`) with this Node.js, on a port of its own, and resolves once it answers
 * HTTP. The process inherits this process's environment plus `env` (so the function finds the
 * emulators through FIRESTORE_EMULATOR_HOST / PUBSUB_EMULATOR_HOST). Its output is kept. It is killed
 * when this process exits, and exits by itself when this process dies (its stdin closes), so no
 * server is left behind. {@link FunctionsServer.kill} and {@link FunctionsServer.restart} crash and
 * bring back the server, for fault tests.
 */
export async function startFunctionsServer(options: FunctionsServerOptions = {}): Promise<FunctionsServer> {
  const source = options.source ?? functionsPackageDir();
  const port = options.port ? options.port : await freePort();
  const url = `http://127.0.0.1:${port}/`;
  const args = [
    functionsFrameworkBin(source),
    `--target=${options.target ?? 'onJobWritten'}`,
    `--signature-type=${options.signatureType ?? 'cloudevent'}`,
    `--source=${source}`,
    `--port=${port}`,
  ];
  // exit-with-parent: the child exits when our end of its stdin closes, even if we are SIGKILLed.
  const exitWithParent = new URL('./exit-with-parent.js', import.meta.url).href;

  let text = '';
  const watchers = new Set<() => void>();
  const wakeAll = () => {
    for (const wake of [...watchers]) wake();
  };
  const append = (chunk: string) => {
    if (chunk === '') return;
    text += chunk;
    if (text.length > OUTPUT_LIMIT) text = text.slice(text.length - OUTPUT_LIMIT);
    wakeAll();
  };

  const spawnServer = (): ServerProcess => {
    const child: ChildProcess = spawn(process.execPath, ['--import', exitWithParent, ...args], {
      cwd: source,
      env: { ...process.env, ...options.env, PORT: String(port) },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    for (const stream of [child.stdout, child.stderr]) {
      const decoder = new StringDecoder('utf8');
      stream?.on('data', (chunk: Buffer) => append(decoder.write(chunk)));
      stream?.on('end', () => append(decoder.end()));
    }
    const server: ServerProcess = { child, exited: false, exit: Promise.resolve() };
    server.exit = new Promise<void>((resolve) => {
      child.once('exit', () => {
        server.exited = true;
        wakeAll();
        resolve();
      });
      child.once('error', (error) => {
        append(`\n${error.message}\n`);
        server.exited = true;
        wakeAll();
        resolve();
      });
    });
    return server;
  };

  let current = spawnServer();
  const onHostExit = () => current.child.kill('SIGKILL');
  process.on('exit', onHostExit);

  const killCurrent = async (signal: NodeJS.Signals) => {
    if (!current.exited) current.child.kill(signal);
    await current.exit;
  };

  /** Resolves once the current process answers HTTP; stops it and throws when it cannot. */
  const ready = async () => {
    const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
    for (;;) {
      if (current.exited) {
        throw new StackError(
          'E11_STACK_START_FAILED',
          `The Functions Framework exited before serving: ${text.trim().split('\n').slice(-5).join(' | ')}`,
        );
      }
      if (await answers(url)) return;
      if (Date.now() > deadline) {
        throw new StackError('E11_STACK_START_TIMEOUT', `The Functions Framework did not answer on ${url}.`);
      }
      // Readiness of another process has no event to wait on: probe again shortly.
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      if (!current.exited) {
        current.child.kill('SIGTERM');
        const timer = setTimeout(() => current.child.kill('SIGKILL'), 5_000);
        await current.exit;
        clearTimeout(timer);
      }
      process.removeListener('exit', onHostExit);
    })());

  let restarting: Promise<void> | undefined;
  const restart = () =>
    (restarting ??= (async () => {
      if (stopping) throw new StackError('E11_STACK_START_FAILED', 'The functions server was stopped.');
      await killCurrent('SIGKILL');
      current = spawnServer();
      try {
        await ready();
      } catch (error) {
        await killCurrent('SIGKILL');
        throw error;
      }
    })().finally(() => (restarting = undefined)));

  const waitForOutput = (pattern: RegExp, timeoutMs = 10_000) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (pattern.test(text)) finish();
        else if (current.exited) finish(new Error(`The functions server exited before printing ${pattern}.`));
      };
      const timer = setTimeout(
        () => finish(new Error(`The functions server did not print ${pattern} within ${timeoutMs} ms.`)),
        timeoutMs,
      );
      const finish = (error?: Error) => {
        clearTimeout(timer);
        watchers.delete(check);
        if (error) reject(error);
        else resolve();
      };
      watchers.add(check);
      check();
    });

  try {
    await ready();
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url,
    port,
    output: () => text,
    waitForOutput,
    get running() {
      return !current.exited;
    },
    kill: (signal: NodeJS.Signals = 'SIGKILL') => killCurrent(signal),
    restart,
    stop,
  };
}
