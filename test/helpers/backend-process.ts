import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';

/** A backend process a test starts (a script run with `node --input-type=module -e`), to kill it or read it. */
export interface BackendProcess {
  child: ChildProcessByStdio<null, Readable, Readable>;
  /** Resolves with the first line of its stdout that starts with `prefix` (the prefix cut off). */
  line(prefix: string): Promise<string>;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
  /** Resolves with its exit code and signal. */
  exited: Promise<[number | null, NodeJS.Signals | null]>;
  /** SIGKILLs it (if it still runs) and waits for its exit. */
  kill(): Promise<void>;
}

/** Starts `script` as an ES module in a new Node process with `env` added to the test's environment. */
export function spawnBackend(script: string, env: Record<string, string>): BackendProcess {
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return {
    child,
    async line(prefix) {
      for (let next = await lines.next(); !next.done; next = await lines.next()) {
        const text = String(next.value);
        if (text.startsWith(prefix)) return text.slice(prefix.length);
      }
      throw new Error(`the backend exited without a '${prefix}' line: ${stderr.slice(-2_000)}`);
    },
    stderr: () => stderr,
    exited,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
