import { cloudRunTaskEnv } from '@e11/core';

import type { ExecutionSpec } from './execution-record.js';

/**
 * The environment of one task attempt, in order of precedence (later wins): the emulator's own
 * `process.env` (so PATH and the *_EMULATOR_HOST variables reach the task), the emulator's extra
 * `env`, `GOOGLE_CLOUD_PROJECT` from the resource name (standing in for the metadata server), the
 * job's env merged with the RunJob override env, and the variables Cloud Run itself sets.
 */
export function buildTaskEnv(
  extraEnv: Record<string, string>,
  spec: ExecutionSpec,
  taskIndex: number,
  attempt: number,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined) env[key] = value;
  Object.assign(env, extraEnv);
  env['GOOGLE_CLOUD_PROJECT'] = spec.name.project;
  Object.assign(env, spec.env);
  Object.assign(
    env,
    cloudRunTaskEnv({
      job: spec.name.jobId,
      execution: spec.name.executionId,
      taskIndex,
      taskAttempt: attempt,
      taskCount: spec.taskCount,
    }),
  );
  return env;
}

/** `node` runs on the emulator's own Node binary, so tasks get the same Node 22 as the emulator. */
export function resolveCommand(command: string): string {
  return command === 'node' ? process.execPath : command;
}
