import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

import { OUTPUT_DRAIN_MS } from './defaults.js';

/** What to run for one task attempt. */
export interface TaskProcessSpec {
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  /** Every decoded chunk of stdout or stderr. */
  onOutput: (stream: 'stdout' | 'stderr', text: string) => void;
}

/** How one attempt ended. */
export interface TaskProcessExit {
  /** The exit code when the process exited on its own. */
  exitCode: number | null;
  /** The signal that ended the process, when one did. */
  signal: NodeJS.Signals | null;
  /** Why the process could not be started (e.g. `spawn foo ENOENT`). */
  spawnError?: string;
}

/** One task attempt: a child process in its own process group. */
export interface TaskProcess {
  /** The process id, which is also the process group id; undefined if it could not be started. */
  readonly pid: number | undefined;
  /** Resolves once the process has exited, the rest of its group is killed and its output drained. */
  readonly exited: Promise<TaskProcessExit>;
  /** True until `exited` resolves. */
  readonly alive: boolean;
  /** Sends `signal` to the whole process group; false if nothing was there to signal. */
  signal(signal: NodeJS.Signals): boolean;
  /** SIGTERM to the group now, SIGKILL after `graceMs` unless it has exited by then. */
  terminate(graceMs: number): void;
}

/** Sends a signal to a process group; false when the group no longer exists. */
export function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts one task attempt: no shell, stdin closed, stdout/stderr piped, in a new process group
 * (detached) so that the attempt and everything it spawned can be signalled together. When the main
 * process exits, the rest of its group is killed, as Cloud Run tears down the container.
 */
export function startTaskProcess(spec: TaskProcessSpec): TaskProcess {
  const child = spawn(spec.command, spec.args, {
    cwd: spec.cwd,
    env: spec.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid;
  let alive = true;
  let killTimer: NodeJS.Timeout | undefined;

  for (const stream of ['stdout', 'stderr'] as const) {
    const decoder = new StringDecoder('utf8');
    const readable = child[stream];
    readable.on('data', (chunk: Buffer) => spec.onOutput(stream, decoder.write(chunk)));
    readable.on('end', () => spec.onOutput(stream, decoder.end()));
  }

  const exited = new Promise<TaskProcessExit>((resolve) => {
    let settled = false;
    const settle = (exit: TaskProcessExit) => {
      if (settled) return;
      settled = true;
      alive = false;
      clearTimeout(killTimer);
      resolve(exit);
    };
    child.once('error', (error) => {
      // Only a failed spawn ends the attempt here; later errors (e.g. a failed kill) are not exits.
      if (pid === undefined) {
        // spawn reports a missing cwd as the command being missing; say which it was.
        const missingCwd = (error as NodeJS.ErrnoException).code === 'ENOENT' && !existsSync(spec.cwd);
        const spawnError = missingCwd ? `working directory ${spec.cwd} does not exist` : error.message;
        settle({ exitCode: null, signal: null, spawnError });
      }
    });
    child.once('exit', (exitCode, signal) => {
      if (pid !== undefined) signalGroup(pid, 'SIGKILL');
      const outcome = { exitCode, signal };
      // Wait for the pipes to drain, but not for a grandchild that escaped the group and holds them.
      const drainTimer = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        settle(outcome);
      }, OUTPUT_DRAIN_MS);
      child.once('close', () => {
        clearTimeout(drainTimer);
        settle(outcome);
      });
    });
  });

  const sendSignal = (signal: NodeJS.Signals): boolean =>
    alive && pid !== undefined && signalGroup(pid, signal);

  return {
    pid,
    exited,
    get alive() {
      return alive;
    },
    signal: sendSignal,
    terminate(graceMs: number) {
      if (!sendSignal('SIGTERM') || killTimer !== undefined) return;
      killTimer = setTimeout(() => sendSignal('SIGKILL'), graceMs);
    },
  };
}
