/**
 * The Cloud Run Jobs emulator: a local Cloud Run Admin API v2 (Jobs, Executions, Tasks, Operations)
 * for the official `@google-cloud/run` client, running each task as a local process.
 */
export type { CloudRunEmulatorClientOptions } from './client-options.js';
export { cloudRunClientOptions } from './client-options.js';
export type { CompiledJobDefinition } from './config.js';
export { compileJobDefinition, loadCloudRunConfig } from './config.js';
export { startCloudRunEmulator } from './emulator.js';
export type { CloudRunEmulatorErrorCode } from './errors.js';
export { CloudRunEmulatorError } from './errors.js';
export type {
  CloudRunEmulator,
  CloudRunEmulatorConfig,
  CloudRunEmulatorFaults,
  CloudRunEmulatorLogger,
  CloudRunEmulatorOptions,
  CloudRunEmulatorStats,
  CloudRunJobDefinition,
  CloudRunLimits,
  ExecutionSnapshot,
  ExecutionState,
  RejectionCode,
  RunLimitName,
  TaskOutputInfo,
  TaskSnapshot,
  TaskState,
  WaitForExecutionOptions,
} from './interfaces.js';
