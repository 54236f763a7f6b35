import {
  DEFAULT_HOST,
  DEFAULT_KILL_GRACE_MS,
  DEFAULT_MAX_CONCURRENT_TASKS,
  DEFAULT_PORT,
  DEFAULT_TASK_OUTPUT_LIMIT_BYTES,
} from './defaults.js';
import type { CloudRunEmulatorLogger, CloudRunEmulatorOptions, TaskOutputInfo } from './interfaces.js';

/** {@link CloudRunEmulatorOptions} validated, with every default filled in. */
export interface CompiledCloudRunEmulatorOptions {
  host: string;
  port: number;
  config: CloudRunEmulatorOptions['config'];
  killGraceMs: number;
  maxConcurrentTasks: number;
  env: Record<string, string>;
  taskOutputLimitBytes: number;
  onTaskOutput: ((info: TaskOutputInfo, chunk: string) => void) | undefined;
  logger: CloudRunEmulatorLogger;
}

const noop = (): void => undefined;

/** A logger that drops everything: the emulator is quiet unless given one. */
export const silentLogger: CloudRunEmulatorLogger = { debug: noop, info: noop, warn: noop, error: noop };

function integer(
  name: string,
  value: number | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  const result = value ?? fallback;
  if (!Number.isInteger(result) || result < min || result > max) {
    throw new RangeError(
      `Cloud Run emulator option ${name} must be an integer from ${min} to ${max}, got ${result}`,
    );
  }
  return result;
}

/** Validates the options and fills their defaults (see defaults.ts). Throws RangeError for bad numbers. */
export function compileCloudRunEmulatorOptions(
  options: CloudRunEmulatorOptions = {},
): CompiledCloudRunEmulatorOptions {
  return {
    host: options.host ?? DEFAULT_HOST,
    port: integer('port', options.port, DEFAULT_PORT, 0, 65_535),
    config: options.config,
    killGraceMs: integer('killGraceMs', options.killGraceMs, DEFAULT_KILL_GRACE_MS, 0, 2 ** 31 - 1),
    maxConcurrentTasks: integer(
      'maxConcurrentTasks',
      options.maxConcurrentTasks,
      DEFAULT_MAX_CONCURRENT_TASKS,
      1,
      100_000,
    ),
    env: { ...options.env },
    taskOutputLimitBytes: integer(
      'taskOutputLimitBytes',
      options.taskOutputLimitBytes,
      DEFAULT_TASK_OUTPUT_LIMIT_BYTES,
      1,
      2 ** 31 - 1,
    ),
    onTaskOutput: options.onTaskOutput,
    logger: options.logger ?? silentLogger,
  };
}
