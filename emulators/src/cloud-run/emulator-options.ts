import { availableParallelism } from 'node:os';

import {
  DEFAULT_HOST,
  DEFAULT_KILL_GRACE_MS,
  DEFAULT_PORT,
  DEFAULT_QUOTA_WINDOW_MS,
  DEFAULT_TASK_OUTPUT_LIMIT_BYTES,
  TASKS_PER_CORE,
} from './defaults.js';
import type { CloudRunEmulatorLogger, CloudRunEmulatorOptions, TaskOutputInfo } from './interfaces.js';
import type { CompiledRunLimits } from './run-limits.js';

/** {@link CloudRunEmulatorOptions} validated, with every default filled in. */
export interface CompiledCloudRunEmulatorOptions {
  host: string;
  port: number;
  config: CloudRunEmulatorOptions['config'];
  killGraceMs: number;
  maxConcurrentTasks: number;
  limits: CompiledRunLimits;
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
      TASKS_PER_CORE * Math.max(1, availableParallelism()),
      1,
      100_000,
    ),
    limits: {
      runRequestsPerMinute: integer(
        'limits.runRequestsPerMinute',
        options.limits?.runRequestsPerMinute,
        0,
        0,
        1_000_000,
      ),
      maxRunningExecutions: integer(
        'limits.maxRunningExecutions',
        options.limits?.maxRunningExecutions,
        0,
        0,
        1_000_000,
      ),
      windowMs: integer('limits.windowMs', options.limits?.windowMs, DEFAULT_QUOTA_WINDOW_MS, 1, 2 ** 31 - 1),
    },
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
