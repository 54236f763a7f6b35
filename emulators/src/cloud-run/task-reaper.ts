import { type ChildProcess, spawn } from 'node:child_process';
import type { Socket } from 'node:net';

/**
 * The reaper's program (run with `node -e`, so it needs no file of its own): it keeps the process
 * groups it is told about (`+pgid` / `-pgid` lines on stdin) and, when its stdin ends, SIGKILLs every
 * group still listed and exits. Its stdin ends when the emulator's host process dies, even by SIGKILL.
 */
const REAPER = `
const groups = new Set();
let buffer = '';
const reap = () => {
  for (const group of groups) {
    try { process.kill(-group, 'SIGKILL'); } catch {}
  }
  process.exit(0);
};
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  buffer += chunk;
  for (let at = buffer.indexOf('\\n'); at !== -1; at = buffer.indexOf('\\n')) {
    const line = buffer.slice(0, at);
    buffer = buffer.slice(at + 1);
    const group = Number(line.slice(1));
    if (line[0] === '+') groups.add(group);
    else groups.delete(group);
  }
});
process.stdin.on('end', reap);
process.stdin.on('error', reap);
`;

/**
 * Kills the task process groups of an emulator whose host process died without stopping it — even by
 * SIGKILL, when no exit handler runs: a small watchdog process, in a process group of its own (a
 * Ctrl-C to the terminal's group does not reach it), holds the other end of a pipe from the host and
 * SIGKILLs every task group it was told about once that pipe closes. It keeps neither process alive.
 */
export class TaskReaper {
  #child: ChildProcess | undefined;
  #closed = false;

  /** Watches a task's process group (its leader's pid). */
  watch(pgid: number): void {
    this.#send(`+${pgid}`);
  }

  /** Stops watching a group whose leader has exited (the scheduler killed the rest of it). */
  forget(pgid: number): void {
    this.#send(`-${pgid}`);
  }

  /** Ends the watchdog: it kills the groups still listed (none, after a clean stop) and exits. */
  close(): void {
    this.#closed = true;
    this.#child?.stdin?.end();
    this.#child = undefined;
  }

  #send(line: string): void {
    if (this.#closed) return;
    this.#child ??= this.#start();
    this.#child.stdin?.write(`${line}\n`);
  }

  #start(): ChildProcess {
    const child = spawn(process.execPath, ['-e', REAPER], {
      stdio: ['pipe', 'ignore', 'ignore'],
      detached: true,
    });
    // A watchdog that could not start (or died) is a lost safety net, not a failure of the emulator.
    child.on('error', () => undefined);
    child.stdin?.on('error', () => undefined);
    child.unref();
    (child.stdin as Socket | null)?.unref();
    return child;
  }
}
