import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';

import { DEFAULTS } from '../defaults.js';
import { cloudRunTaskEnv } from '../task/task-contract.js';

import type { ExecutionState, LaunchRequest, LaunchResult, TaskLauncher } from './task-launcher.js';

/** Options for {@link LocalProcessLauncher}. */
export interface LocalProcessLauncherOptions {
  /** The command a task runs, e.g. `process.execPath`. */
  command: string;
  /** Its arguments, e.g. `['dist/entrypoint.js']` (a launch's `args` replace them). */
  args?: readonly string[];
  cwd?: string;
  /** Extra environment for every task (on top of this process's env). */
  env?: Readonly<Record<string, string>>;
  /** Receives each task's output; by default it is discarded. */
  onOutput?: (task: { executionName: string; taskIndex: number }, chunk: Buffer) => void;
  /** Between SIGTERM and SIGKILL on cancel/close. @default 10000 (as Cloud Run) */
  killGraceMs?: number;
}

/**
 * Runs each task as a local process with the same env a Cloud Run task gets (JOB_NAME, ORCHESTRATION_ID,
 * JOB_ID overrides plus CLOUD_RUN_JOB, CLOUD_RUN_EXECUTION, CLOUD_RUN_TASK_INDEX/ATTEMPT/COUNT), for
 * development without any Cloud Run server. No retries, no parallelism limit: one process per task.
 */
export class LocalProcessLauncher implements TaskLauncher {
  private readonly running = new Map<string, Set<ChildProcess>>();
  /** Every execution started here, with its tasks' outcomes so far. */
  private readonly states = new Map<string, ExecutionState & { tasks: number; cancelling: boolean }>();

  constructor(private readonly options: LocalProcessLauncherOptions) {}

  launch(request: LaunchRequest): Promise<LaunchResult> {
    const shortName = `${request.service}-${randomBytes(3).toString('hex').slice(0, 5)}`;
    const executionName = `local/jobs/${request.service}/executions/${shortName}`;
    const children = new Set<ChildProcess>();
    this.running.set(executionName, children);
    const state = {
      done: false,
      succeeded: 0,
      failed: 0,
      cancelled: 0,
      tasks: request.taskCount,
      cancelling: false,
    };
    this.states.set(executionName, state);
    // Keep the states of the latest executions only (a long-lived process launches without end).
    if (this.states.size > DEFAULTS.localLauncherKeptExecutions) {
      const [oldest] = this.states.keys();
      if (oldest !== undefined) this.states.delete(oldest);
    }
    const ended = (outcome: 'succeeded' | 'failed' | 'cancelled') => {
      state[outcome]++;
      state.done = state.succeeded + state.failed + state.cancelled === state.tasks;
    };
    for (let taskIndex = 0; taskIndex < request.taskCount; taskIndex++) {
      const child = spawn(this.options.command, [...(request.args ?? this.options.args ?? [])], {
        cwd: this.options.cwd,
        env: {
          ...process.env,
          ...this.options.env,
          ...request.env,
          ...cloudRunTaskEnv({
            job: request.service,
            execution: shortName,
            taskIndex,
            taskAttempt: 0,
            taskCount: request.taskCount,
          }),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const forward = (chunk: Buffer) => this.options.onOutput?.({ executionName, taskIndex }, chunk);
      child.stdout?.on('data', forward);
      child.stderr?.on('data', forward);
      children.add(child);
      child.once('exit', (code) => {
        children.delete(child);
        if (children.size === 0) this.running.delete(executionName);
        ended(state.cancelling ? 'cancelled' : code === 0 ? 'succeeded' : 'failed');
      });
      // A command that cannot start emits 'error' and no 'exit'.
      child.once('error', () => {
        if (child.pid === undefined && children.delete(child)) ended('failed');
      });
    }
    return Promise.resolve({ executionName });
  }

  /** The execution's state from its processes: done once every task process exited. */
  describe(executionName: string): Promise<ExecutionState | undefined> {
    const state = this.states.get(executionName);
    if (!state) return Promise.resolve(undefined);
    const { done, succeeded, failed, cancelled } = state;
    const message = done ? `${failed} of ${state.tasks} tasks failed, ${cancelled} cancelled.` : undefined;
    return Promise.resolve({ done, succeeded, failed, cancelled, ...(message ? { message } : {}) });
  }

  async cancel(executionName: string): Promise<void> {
    const state = this.states.get(executionName);
    if (state) state.cancelling = true;
    await this.stop([...(this.running.get(executionName) ?? [])]);
  }

  async close(): Promise<void> {
    await this.stop([...this.running.values()].flatMap((set) => [...set]));
  }

  private async stop(children: ChildProcess[]): Promise<void> {
    const grace = this.options.killGraceMs ?? DEFAULTS.terminationGraceMs + 2_000;
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const timer = setTimeout(() => child.kill('SIGKILL'), grace);
            child.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            child.kill('SIGTERM');
          }),
      ),
    );
  }
}
