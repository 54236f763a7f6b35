import { status } from '@grpc/grpc-js';

import type { CompiledJobDefinition } from './config.js';
import {
  ENV_NAME_PATTERN,
  MAX_ENV_LENGTH,
  MAX_TASK_COUNT,
  MAX_TASK_TIMEOUT_MS,
  RESERVED_ENV_NAMES,
} from './defaults.js';
import { invalidArgument, RpcError } from './rpc-error.js';
import type { ProtoSecondsNanos } from './time.js';
import { fromSecondsNanos } from './time.js';

/** `google.cloud.run.v2.EnvVar` as decoded (the `values` oneof names the member that is set). */
export interface EnvVarMessage {
  name: string;
  value?: string;
  valueSource?: unknown;
  values?: 'value' | 'valueSource';
}

/** `RunJobRequest.Overrides.ContainerOverride` as decoded. */
export interface ContainerOverrideMessage {
  name: string;
  args: string[];
  env: EnvVarMessage[];
  clearArgs: boolean;
}

/** `RunJobRequest.Overrides` as decoded; `timeout` is null when not set. */
export interface OverridesMessage {
  containerOverrides: ContainerOverrideMessage[];
  taskCount: number;
  timeout: ProtoSecondsNanos | null;
}

/** The job definition with a RunJob request's overrides applied. */
export interface EffectiveRun {
  args: string[];
  env: Record<string, string>;
  taskCount: number;
  timeoutMs: number;
}

function overrideEnv(env: EnvVarMessage[], into: Record<string, string>): void {
  for (const [i, variable] of env.entries()) {
    const where = `overrides.container_overrides[0].env[${i}]`;
    if (variable.name === '') throw invalidArgument(`${where}.name: must not be empty.`);
    if (variable.name.length > MAX_ENV_LENGTH || !ENV_NAME_PATTERN.test(variable.name)) {
      throw invalidArgument(`${where}.name: '${variable.name}' is not a valid environment variable name.`);
    }
    if (RESERVED_ENV_NAMES.includes(variable.name)) {
      throw invalidArgument(`${where}.name: '${variable.name}' is reserved and cannot be set.`);
    }
    if (variable.values === 'valueSource') {
      throw new RpcError(
        status.UNIMPLEMENTED,
        `${where}.value_source: secret references are not supported by the Cloud Run Jobs emulator; pass a value.`,
      );
    }
    const value = variable.value ?? '';
    if (value.length > MAX_ENV_LENGTH)
      throw invalidArgument(`${where}.value: longer than ${MAX_ENV_LENGTH} characters.`);
    into[variable.name] = value;
  }
}

/**
 * Applies RunJob overrides to a job as Cloud Run does: override env merges over the job's env, args
 * replace the job's args (`clearArgs` empties them), `taskCount` (0 = unset) and `timeout` replace
 * the job's. Throws INVALID_ARGUMENT for values the real API rejects.
 */
export function applyOverrides(job: CompiledJobDefinition, overrides: OverridesMessage | null): EffectiveRun {
  const run: EffectiveRun = {
    args: [...job.args],
    env: { ...job.env },
    taskCount: job.taskCount,
    timeoutMs: job.timeoutMs,
  };
  if (!overrides) return run;

  if (overrides.taskCount < 0 || overrides.taskCount > MAX_TASK_COUNT) {
    throw invalidArgument(
      `overrides.task_count: must be between 0 and ${MAX_TASK_COUNT}, got ${overrides.taskCount}.`,
    );
  }
  if (overrides.taskCount > 0) run.taskCount = overrides.taskCount;

  if (overrides.timeout) {
    const ms = fromSecondsNanos(overrides.timeout);
    if (!(ms > 0) || ms > MAX_TASK_TIMEOUT_MS) {
      throw invalidArgument(`overrides.timeout: must be above 0 and at most 7 days (604800s).`);
    }
    run.timeoutMs = ms;
  }

  if (overrides.containerOverrides.length > 1) {
    throw invalidArgument(
      `overrides.container_overrides: job '${job.id}' has one container; got ${overrides.containerOverrides.length} overrides.`,
    );
  }
  const container = overrides.containerOverrides[0];
  if (container) {
    if (container.clearArgs && container.args.length > 0) {
      throw invalidArgument('overrides.container_overrides[0]: set either args or clear_args, not both.');
    }
    if (container.clearArgs) run.args = [];
    else if (container.args.length > 0) run.args = [...container.args];
    overrideEnv(container.env, run.env);
  }
  return run;
}
