import 'reflect-metadata';

import {
  type AnyJobHandle,
  type Duration,
  E11Error,
  ErrorCode,
  isJobHandle,
  type JobParams,
  type ResultOf,
  type RunParamsOf,
  type StandardSchemaV1,
  toMs,
  validateJobName,
} from '@e11/core';

import type { JobContext } from './context.js';

/** A job class's instance: `run` receives one parameter set. */
export interface E11Job<P = JobParams, R = unknown, C = unknown> {
  /**
   * Runs one parameter set. The returned value (JSON, at most 64 KiB; undefined is stored as null)
   * becomes the job's result; a throw fails the attempt (see `retryOn`).
   */
  run(params: P, ctx: JobContext<P, C>): Promise<R> | R;
}

/**
 * The instance type of a job class for a job handle (`defineJob`): `run` receives the handle's params
 * (its schema's output) and returns its result.
 *
 * ```ts
 * @JobName(SumSales)
 * class SumSalesJob implements E11JobOf<typeof SumSales> { ... }
 * ```
 */
export type E11JobOf<H extends AnyJobHandle, C = unknown> = E11Job<RunParamsOf<H>, ResultOf<H>, C>;

/** A class `@JobName(handle)` accepts: its `run` takes the handle's params and returns its result. */
export type JobClassFor<H extends AnyJobHandle> = abstract new (...args: never[]) => {
  run(params: RunParamsOf<H>, ctx: never): ResultOf<H> | Promise<ResultOf<H>>;
};

/** Backoff between in-task retries: `min(maxMs, initialMs * multiplier^(retry-1))`, with full jitter. */
export interface BackoffSettings {
  /** First delay in ms. @default DEFAULTS.retryInitialBackoffMs (1 s) */
  initialMs?: number;
  /** Upper bound of one delay in ms. @default DEFAULTS.retryMaxBackoffMs (60 s) */
  maxMs?: number;
  /** Growth per retry (≥ 1). @default DEFAULTS.retryMultiplier (2) */
  multiplier?: number;
  /** Full jitter: a random delay between 0 and the exponential value. @default true */
  jitter?: boolean;
}

/** Options of `@JobName`. Kick-off options (`retry`, `timeout`) override them per orchestration. */
export interface JobOptions {
  /** Attempts per job, first run included. @default DEFAULTS.maxAttempts */
  maxAttempts?: number;
  backoff?: BackoffSettings;
  /**
   * Time limit of one attempt (`'5m'` or ms); the signal fires and the attempt fails with E11_TIMEOUT
   * (retryable by default). A kick-off `timeout` overrides it. @default none
   */
  timeout?: Duration;
  /**
   * Which failures are retried. @default errors with `retryable: true` (TransientError, retryable
   * E11Errors) and the job's own timeouts. PermanentError and schema failures are never retried.
   */
  retryOn?: (error: unknown, attempt: number) => boolean;
  /**
   * Checked before `run`; a mismatch ends the job Errored with E11_VALIDATION_FAILED naming the field.
   * With `@JobName(handle)`, give the schema to `defineJob` instead (the backend checks it at kick-off too).
   */
  schema?: StandardSchemaV1;
  /** Params keys whose values never appear in logs or stored errors (added to the kick-off's `sensitiveKeys`). */
  sensitiveKeys?: string[];
}

/** A class decorated with `@JobName`. */
export type JobClass = abstract new (...args: never[]) => { run(params: never, ctx: never): unknown };

/** What `@JobName` stores on a class. */
export interface JobDefinition {
  name: string;
  options: JobOptions;
  target: JobClass;
}

const JOB_METADATA = Symbol.for('e11:job-name');

/**
 * Names a job class so `runE11Job` can pick it by the task's JOB_NAME. The name is what backends pass
 * to `kickOffJob` (it maps to the Cloud Run job id, e.g. `process_batch` → `process-batch`). Given a
 * job handle (`defineJob`), the class takes the handle's name and schema, and its `run` is type-checked
 * against the handle's params and result:
 *
 * ```ts
 * export const ProcessBatch = defineJob<{ file: string }, { rows: number }>('process_batch');
 *
 * @JobName(ProcessBatch, { maxAttempts: 3, timeout: '10m' })
 * class ProcessBatchJob implements E11JobOf<typeof ProcessBatch> {
 *   async run(params: { file: string }, ctx: JobContext<{ file: string }>) { ... }
 * }
 * ```
 *
 * Throws E11_INVALID_JOB_NAME for a malformed name (1-63 letters, digits, `_` or `-`, starting with a
 * letter) and E11_INVALID_OPTIONS for an out-of-range option (or a `schema` option next to a handle's
 * schema), when the class is defined.
 */
export function JobName<H extends AnyJobHandle>(
  handle: H,
  options?: JobOptions,
): <T extends JobClassFor<H>>(target: T) => void;
export function JobName(name: string, options?: JobOptions): <T extends JobClass>(target: T) => void;
export function JobName(
  nameOrHandle: string | AnyJobHandle,
  options: JobOptions = {},
): <T extends JobClass>(target: T) => void {
  const handle = isJobHandle(nameOrHandle) ? nameOrHandle : undefined;
  const name = handle ? handle.name : (nameOrHandle as string);
  validateJobName(name);
  validateJobOptions(name, options);
  if (handle?.schema !== undefined && options.schema !== undefined)
    throw invalid(name, 'schema', 'is declared by the job handle already (defineJob): give it there only');
  const stored: JobOptions = handle?.schema === undefined ? options : { ...options, schema: handle.schema };
  return (target) => {
    const definition: JobDefinition = { name, options: stored, target };
    Reflect.defineMetadata(JOB_METADATA, definition, target);
  };
}

function invalid(name: string, field: string, problem: string): E11Error {
  return new E11Error(ErrorCode.InvalidOptions, `@JobName('${name}'): ${field} ${problem}.`, {
    context: { jobName: name, path: field },
  });
}

/** Throws E11_INVALID_OPTIONS naming the field when a `@JobName` option is out of range. */
function validateJobOptions(name: string, options: JobOptions): void {
  const { maxAttempts, backoff, timeout, retryOn, schema, sensitiveKeys } = options;
  if (maxAttempts !== undefined && (!Number.isInteger(maxAttempts) || maxAttempts < 1))
    throw invalid(name, 'maxAttempts', 'must be a positive integer');
  for (const field of ['initialMs', 'maxMs'] as const) {
    const value = backoff?.[field];
    if (value !== undefined && (!Number.isFinite(value) || value < 0))
      throw invalid(name, `backoff.${field}`, 'must be a non-negative number of milliseconds');
  }
  if (backoff?.multiplier !== undefined && !(backoff.multiplier >= 1))
    throw invalid(name, 'backoff.multiplier', 'must be at least 1');
  if (timeout !== undefined && toMs(timeout, `@JobName('${name}') timeout`) <= 0)
    throw invalid(name, 'timeout', 'must be positive');
  if (retryOn !== undefined && typeof retryOn !== 'function')
    throw invalid(name, 'retryOn', 'must be a function (error, attempt) => boolean');
  if (schema !== undefined && typeof schema['~standard']?.validate !== 'function')
    throw invalid(name, 'schema', 'must be a Standard Schema (zod 4, valibot, arktype, ...)');
  if (sensitiveKeys !== undefined && !sensitiveKeys.every((key) => typeof key === 'string'))
    throw invalid(name, 'sensitiveKeys', 'must be a list of strings');
}

/** The `@JobName` definition of a class, or undefined when it has none. */
export function getJobDefinition(target: JobClass): JobDefinition | undefined {
  return Reflect.getOwnMetadata(JOB_METADATA, target) as JobDefinition | undefined;
}
