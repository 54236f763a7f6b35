import type { Server } from '@grpc/grpc-js';

import type { CompiledJobDefinition } from './config.js';
import { compileJobDefinition, loadCloudRunConfig } from './config.js';
import type { EmulatorCore } from './core.js';
import { STOP_GRACE_MS } from './defaults.js';
import type { CompiledCloudRunEmulatorOptions } from './emulator-options.js';
import { compileCloudRunEmulatorOptions } from './emulator-options.js';
import { CloudRunEmulatorError } from './errors.js';
import { executionSnapshot } from './execution-record.js';
import { ExecutionStore } from './execution-store.js';
import { FaultInjector } from './faults.js';
import type {
  CloudRunEmulator,
  CloudRunEmulatorOptions,
  CloudRunEmulatorStats,
  CloudRunJobDefinition,
  ExecutionSnapshot,
  WaitForExecutionOptions,
} from './interfaces.js';
import { OperationStore } from './operations.js';
import { loadCloudRunServices } from './protos.js';
import { RunLimits } from './run-limits.js';
import { TaskScheduler } from './scheduler.js';
import { bindServer, createCloudRunServer, formatEndpoint, shutdownServer } from './server.js';

const DEFAULT_WAIT_TIMEOUT_MS = 30_000;

class LocalCloudRunEmulator implements CloudRunEmulator {
  readonly endpoint: string;
  private stopped: Promise<void> | undefined;

  constructor(
    readonly host: string,
    readonly port: number,
    private readonly core: EmulatorCore,
    private readonly server: Server,
    private readonly options: CompiledCloudRunEmulatorOptions,
    private readonly exitHandler: () => void,
  ) {
    this.endpoint = formatEndpoint(host, port);
  }

  get faults(): FaultInjector {
    return this.core.faults;
  }

  defineJob(id: string, definition: CloudRunJobDefinition): void {
    this.core.jobs.set(id, compileJobDefinition(id, definition));
  }

  stats(): CloudRunEmulatorStats {
    return {
      calls: { ...this.core.calls },
      tasksStarted: this.core.scheduler.tasksStarted,
      tasksRunning: this.core.scheduler.tasksRunning,
      rejectedRuns: this.core.limits.rejections(),
      executionsRunning: this.core.store.all().filter((execution) => !execution.outcome).length,
    };
  }

  listExecutions(): ExecutionSnapshot[] {
    return this.core.store.all().map(executionSnapshot);
  }

  async waitForExecution(
    executionName: string,
    options: WaitForExecutionOptions = {},
  ): Promise<ExecutionSnapshot> {
    const execution = this.core.store.get(executionName);
    if (!execution) {
      throw new CloudRunEmulatorError(
        'E11_CLOUD_RUN_UNKNOWN_EXECUTION',
        `The Cloud Run Jobs emulator has no execution named ${executionName}`,
      );
    }
    if (!execution.outcome) {
      const timeoutMs = options.timeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new CloudRunEmulatorError(
                'E11_CLOUD_RUN_WAIT_TIMEOUT',
                `Execution ${executionName} did not finish within ${timeoutMs} ms`,
              ),
            ),
          timeoutMs,
        );
      });
      try {
        await Promise.race([execution.done, timedOut]);
      } finally {
        clearTimeout(timer);
      }
    }
    return executionSnapshot(execution);
  }

  taskOutput(executionName: string, taskIndex: number): string {
    return this.core.store.get(executionName)?.tasks[taskIndex]?.output.toString() ?? '';
  }

  stop(): Promise<void> {
    this.stopped ??= this.shutdown();
    return this.stopped;
  }

  private async shutdown(): Promise<void> {
    this.core.stopping = true;
    this.core.faults.clear();
    const graceMs = Math.min(this.options.killGraceMs, STOP_GRACE_MS);
    const unfinished = this.core.store.all().filter((execution) => !execution.outcome);
    await Promise.all([
      this.core.scheduler.stop(unfinished, graceMs),
      shutdownServer(this.server, graceMs + STOP_GRACE_MS),
    ]);
    process.off('exit', this.exitHandler);
    this.options.logger.info({ endpoint: this.endpoint }, 'Cloud Run Jobs emulator stopped');
  }
}

/**
 * Starts the Cloud Run Jobs emulator: a gRPC server speaking the Cloud Run Admin API v2 subset that
 * `@google-cloud/run` uses (Jobs, Executions, Tasks, google.longrunning Operations), running each
 * task as a local process. Create clients with {@link cloudRunClientOptions}. Always `stop()` it; if
 * the host process exits first, remaining task process groups are SIGKILLed on exit.
 *
 * @throws CloudRunEmulatorError for a missing or malformed config file, or a port in use.
 */
export async function startCloudRunEmulator(
  options: CloudRunEmulatorOptions = {},
): Promise<CloudRunEmulator> {
  const compiled = compileCloudRunEmulatorOptions(options);
  const jobs: Map<string, CompiledJobDefinition> =
    compiled.config === undefined
      ? new Map<string, CompiledJobDefinition>()
      : loadCloudRunConfig(compiled.config);
  const { logger } = compiled;
  const store = new ExecutionStore();
  const faults: FaultInjector = new FaultInjector((name, index, signal): Promise<boolean> =>
    scheduler.killTask(store.get(name), index, signal),
  );
  const scheduler: TaskScheduler = new TaskScheduler({
    killGraceMs: compiled.killGraceMs,
    maxConcurrentTasks: compiled.maxConcurrentTasks,
    env: compiled.env,
    onTaskOutput: compiled.onTaskOutput,
    logger,
    faults,
    onExecutionFinished: (execution) => {
      if (execution.deleteTimeMs !== undefined) store.remove(execution.name);
      else store.prune(execution.jobName);
      logger.info(
        { execution: execution.name, outcome: execution.outcome },
        `Cloud Run emulator execution ${execution.outcome ?? 'ended'}`,
      );
    },
  });
  const core: EmulatorCore = {
    jobs,
    store,
    operations: new OperationStore(loadCloudRunServices().encodeExecution),
    scheduler,
    faults,
    limits: new RunLimits(compiled.limits),
    taskOutputLimitBytes: compiled.taskOutputLimitBytes,
    calls: {},
    stopping: false,
  };
  const server = createCloudRunServer(core, logger);
  let port: number;
  try {
    port = await bindServer(server, compiled.host, compiled.port);
  } catch (error) {
    server.forceShutdown();
    throw error;
  }
  const exitHandler = () => scheduler.killAllNow();
  process.on('exit', exitHandler);
  const emulator = new LocalCloudRunEmulator(compiled.host, port, core, server, compiled, exitHandler);
  logger.info({ endpoint: emulator.endpoint, jobs: [...jobs.keys()] }, 'Cloud Run Jobs emulator listening');
  return emulator;
}
