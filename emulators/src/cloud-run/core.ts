import type { CompiledJobDefinition } from './config.js';
import type { ExecutionStore } from './execution-store.js';
import type { FaultInjector } from './faults.js';
import type { OperationStore } from './operations.js';
import type { RunLimits } from './run-limits.js';
import type { TaskScheduler } from './scheduler.js';

/** The state the gRPC services work on; one per emulator. */
export interface EmulatorCore {
  /** Job definitions by job id; the same for every project and location. */
  jobs: Map<string, CompiledJobDefinition>;
  store: ExecutionStore;
  operations: OperationStore;
  scheduler: TaskScheduler;
  faults: FaultInjector;
  /** Cloud Run's quotas on RunJob. */
  limits: RunLimits;
  taskOutputLimitBytes: number;
  /** Calls per RPC method name. */
  calls: Record<string, number>;
  /** True once stop() has begun: RunJob is refused. */
  stopping: boolean;
}
