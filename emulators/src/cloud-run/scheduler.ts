import type { CancelReason, ExecutionRecord, TaskRecord } from './execution-record.js';
import { touch } from './execution-record.js';
import type { FaultInjector } from './faults.js';
import type { CloudRunEmulatorLogger, TaskOutputInfo } from './interfaces.js';
import { buildTaskEnv, resolveCommand } from './task-env.js';
import type { TaskProcess, TaskProcessExit } from './task-process.js';
import { signalGroup, startTaskProcess } from './task-process.js';
import { TaskReaper } from './task-reaper.js';

/** What the scheduler needs from the emulator. */
export interface SchedulerOptions {
  killGraceMs: number;
  maxConcurrentTasks: number;
  /** Extra env for every task, on top of `process.env`. */
  env: Record<string, string>;
  onTaskOutput: ((info: TaskOutputInfo, chunk: string) => void) | undefined;
  logger: CloudRunEmulatorLogger;
  faults: FaultInjector;
  /** Called once when an execution has ended (every task finished, failed or was cancelled). */
  onExecutionFinished: (execution: ExecutionRecord) => void;
}

/**
 * Runs the tasks of every execution as local processes: FIFO across executions, at most
 * `parallelism` per execution (0 = no limit) and `maxConcurrentTasks` overall; enforces the task
 * timeout (SIGTERM, then SIGKILL after `killGraceMs`), retries failed attempts up to `maxRetries`,
 * and cancels.
 */
export class TaskScheduler {
  /** Executions that still have queued tasks, in creation order. */
  private readonly active: ExecutionRecord[] = [];
  private readonly live = new Set<TaskProcess>();
  private slotsInUse = 0;
  private pumpScheduled = false;
  private stopping = false;
  private started = 0;
  /** Kills the live task groups if this process dies without stopping the emulator (SIGKILL included). */
  private readonly reaper = new TaskReaper();

  constructor(private readonly options: SchedulerOptions) {}

  /** Task attempts started so far. */
  get tasksStarted(): number {
    return this.started;
  }

  /** Task processes alive now. */
  get tasksRunning(): number {
    return this.live.size;
  }

  /** Queues every task of a new execution. */
  submit(execution: ExecutionRecord): void {
    this.activate(execution);
    this.schedulePump();
  }

  /**
   * Cancels an execution: queued tasks end as cancelled at once, running ones get SIGTERM and then
   * SIGKILL after `graceMs`; the execution ends when the last of them has exited. False if it had
   * already ended.
   */
  cancel(execution: ExecutionRecord, reason: CancelReason, graceMs = this.options.killGraceMs): boolean {
    if (execution.outcome) return false;
    execution.cancelReason ??= reason;
    const now = Date.now();
    for (const index of execution.queue) {
      const task = execution.tasks[index];
      if (task) this.endTask(task, 'cancelled', now);
    }
    execution.queue = [];
    for (const task of execution.tasks) {
      if (task.process) task.process.terminate(graceMs);
      else if (task.holdsSlot) {
        // Waiting in a start delay: it never gets a process.
        this.clearTimers(task);
        this.releaseSlot(execution, task);
        this.endTask(task, 'cancelled', now);
      }
    }
    touch(execution);
    this.finishIfDone(execution);
    this.schedulePump();
    return true;
  }

  /** Signals the running attempt of a task; resolves true once it has exited, false if none ran. */
  async killTask(
    execution: ExecutionRecord | undefined,
    taskIndex: number,
    signal: NodeJS.Signals,
  ): Promise<boolean> {
    const proc = execution?.tasks[taskIndex]?.process;
    if (!proc?.alive) return false;
    proc.signal(signal);
    await proc.exited;
    return true;
  }

  /** Cancels every unfinished execution with a short grace and resolves once every process has exited. */
  async stop(executions: ExecutionRecord[], graceMs: number): Promise<void> {
    this.stopping = true;
    for (const execution of executions) this.cancel(execution, 'stopped', graceMs);
    await Promise.all([...this.live].map((proc) => proc.exited));
    this.reaper.close();
  }

  /** SIGKILL to every live process group, synchronously: the last resort when the host process exits. */
  killAllNow(): void {
    for (const proc of this.live) if (proc.pid !== undefined) signalGroup(proc.pid, 'SIGKILL');
  }

  private activate(execution: ExecutionRecord): void {
    if (this.active.includes(execution)) return;
    const at = this.active.findIndex((e) => e.seq > execution.seq);
    if (at === -1) this.active.push(execution);
    else this.active.splice(at, 0, execution);
  }

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    let i = 0;
    while (!this.stopping && i < this.active.length && this.slotsInUse < this.options.maxConcurrentTasks) {
      const execution = this.active[i];
      if (!execution) break;
      const limit = execution.spec.job.parallelism;
      const next = execution.queue[0];
      if (next === undefined || execution.cancelReason) {
        this.active.splice(i, 1);
      } else if (limit > 0 && execution.slotsHeld >= limit) {
        i += 1;
      } else {
        execution.queue.shift();
        const task = execution.tasks[next];
        if (task) this.startTask(execution, task);
      }
    }
  }

  private startTask(execution: ExecutionRecord, task: TaskRecord): void {
    task.holdsSlot = true;
    execution.slotsHeld += 1;
    this.slotsInUse += 1;
    task.scheduledTimeMs = Date.now();
    const delay = this.options.faults.startDelayMs;
    if (delay > 0) task.timers.push(setTimeout(() => this.spawnAttempt(execution, task), delay));
    else this.spawnAttempt(execution, task);
  }

  private spawnAttempt(execution: ExecutionRecord, task: TaskRecord): void {
    this.clearTimers(task);
    const { spec } = execution;
    const attempt = task.retried;
    // Output arrives asynchronously, after `pid` below is filled in.
    const info: TaskOutputInfo = {
      executionName: execution.name,
      executionId: spec.name.executionId,
      jobId: spec.name.jobId,
      taskIndex: task.index,
      attempt,
      stream: 'stdout',
      pid: -1,
    };
    const proc = startTaskProcess({
      command: resolveCommand(spec.job.command),
      args: spec.args,
      cwd: spec.job.cwd,
      env: buildTaskEnv(this.options.env, spec, task.index, attempt),
      onOutput: (stream, text) => {
        if (text === '') return;
        task.output.append(text);
        const callback = this.options.onTaskOutput;
        if (callback) callback({ ...info, stream }, text);
      },
    });
    info.pid = proc.pid ?? -1;
    this.started += 1;
    this.live.add(proc);
    const now = Date.now();
    task.process = proc;
    task.state = 'running';
    task.attempt = attempt;
    task.timedOut = false;
    task.startTimeMs = now;
    task.completionTimeMs = undefined;
    if (proc.pid !== undefined) {
      task.pids.push(proc.pid);
      this.reaper.watch(proc.pid);
    }
    execution.startTimeMs ??= now;
    touch(execution);
    this.options.logger.debug(
      { execution: execution.name, taskIndex: task.index, attempt, pid: proc.pid },
      'Cloud Run emulator task started',
    );

    task.timers.push(
      setTimeout(() => {
        task.timedOut = true;
        proc.terminate(this.options.killGraceMs);
      }, spec.timeoutMs),
    );
    const kill = this.options.faults.takeNextKill();
    if (kill) task.timers.push(setTimeout(() => proc.signal(kill.signal), kill.afterMs));

    proc.exited
      .then((exit) => this.attemptEnded(execution, task, proc, exit))
      .catch((error: unknown) =>
        this.options.logger.error(
          { err: error, execution: execution.name },
          'Cloud Run emulator scheduler failed',
        ),
      );
  }

  private attemptEnded(
    execution: ExecutionRecord,
    task: TaskRecord,
    proc: TaskProcess,
    exit: TaskProcessExit,
  ): void {
    this.clearTimers(task);
    this.live.delete(proc);
    if (proc.pid !== undefined) this.reaper.forget(proc.pid);
    task.process = undefined;
    task.lastResult = { ...exit, timedOut: task.timedOut };
    this.releaseSlot(execution, task);
    const now = Date.now();
    const succeeded = exit.exitCode === 0 && !task.timedOut;
    if (execution.cancelReason) this.endTask(task, 'cancelled', now);
    else if (succeeded) this.endTask(task, 'succeeded', now);
    else if (task.retried < execution.spec.job.maxRetries) {
      task.retried += 1;
      task.state = 'pending';
      execution.queue.unshift(task.index);
      this.activate(execution);
    } else this.endTask(task, 'failed', now);
    this.options.logger.debug(
      {
        execution: execution.name,
        taskIndex: task.index,
        attempt: task.attempt,
        ...task.lastResult,
        state: task.state,
      },
      'Cloud Run emulator task attempt ended',
    );
    touch(execution);
    this.finishIfDone(execution);
    this.schedulePump();
  }

  private endTask(task: TaskRecord, state: 'succeeded' | 'failed' | 'cancelled', now: number): void {
    task.state = state;
    task.completionTimeMs = now;
  }

  private releaseSlot(execution: ExecutionRecord, task: TaskRecord): void {
    if (!task.holdsSlot) return;
    task.holdsSlot = false;
    execution.slotsHeld -= 1;
    this.slotsInUse -= 1;
  }

  private clearTimers(task: TaskRecord): void {
    for (const timer of task.timers) clearTimeout(timer);
    task.timers = [];
  }

  private finishIfDone(execution: ExecutionRecord): void {
    if (execution.outcome) return;
    if (execution.tasks.some((t) => t.state === 'pending' || t.state === 'running' || t.holdsSlot)) return;
    const failed = execution.tasks.some((t) => t.state === 'failed');
    execution.outcome = execution.cancelReason ? 'cancelled' : failed ? 'failed' : 'succeeded';
    execution.completionTimeMs = Date.now();
    touch(execution);
    this.options.onExecutionFinished(execution);
    execution.markDone();
  }
}
