import { E11Error, ErrorCode } from '../errors.js';
import type { JobParams } from '../model/json.js';
import { validateJobName } from '../validate/job-name.js';

import { isStandardSchema, type StandardSchemaV1 } from './standard-schema.js';

/** Marks a {@link JobHandle} at run time; `Symbol.for`, so copies of this package agree. */
const JOB_HANDLE = Symbol.for('e11:job-handle');

/**
 * A job's name, params type, result type and (optionally) params schema, declared once with
 * {@link defineJob} and shared by the backend (`kickOffJob(handle, params)`,
 * `getJobResults(handle, id)`) and the container (`@JobName(handle)`), so neither repeats the name and
 * the backend never imports the job's implementation. `P` is what `kickOffJob` takes, `R` what `run`
 * returns, `O` what `run` receives (the schema's output; `P` without a schema).
 */
export interface JobHandle<P = JobParams, R = unknown, O = P> {
  /** The job's name (`@JobName`), e.g. `sum_sales`. */
  readonly name: string;
  /** Checked at kick-off (E11_INVALID_PARAMS) and again in the container (E11_VALIDATION_FAILED). */
  readonly schema: StandardSchemaV1 | undefined;
  /** Types only, never set: what `ParamsOf`, `ResultOf` and `RunParamsOf` read. */
  readonly '~types'?: { readonly params: P; readonly result: R; readonly runParams: O } | undefined;
}

/** Any job handle, whatever its types. */
export type AnyJobHandle = JobHandle<unknown, unknown, unknown>;

/**
 * A job class decorated with `@JobName` (from the job's package): `P` is the params type its `run`
 * takes, so `kickOffJob(ProcessBatchJob, params)` type-checks the params against the job. `P` may be
 * an interface (optional fields included): the params are checked to be JSON when kicked off.
 */
export type JobClassReference<P = never> = abstract new (...args: never[]) => {
  run(params: P, ...rest: never[]): unknown;
};

/** The params `kickOffJob` takes for a job handle, or for a job class (its `run`'s params). */
export type ParamsOf<J> =
  J extends JobHandle<infer P, unknown, unknown>
    ? P
    : J extends abstract new (...args: never[]) => { run(params: infer P, ...rest: never[]): unknown }
      ? P
      : never;

/** The result of a job handle's job, or of a job class (what its `run` resolves to). */
export type ResultOf<J> =
  J extends JobHandle<unknown, infer R, unknown>
    ? R
    : J extends abstract new (...args: never[]) => { run(...args: never[]): infer R }
      ? Awaited<R>
      : never;

/** The params a job handle's `run` receives: its schema's output (the params type without a schema). */
export type RunParamsOf<J> = J extends JobHandle<unknown, unknown, infer O> ? O : never;

/** `defineJob(name, options)`: the schema, when given, must accept the params type. */
export interface DefineJobOptions<P = JobParams, O = P> {
  /**
   * A Standard Schema (zod 4, valibot, arktype, ...) for one params set, checked by `kickOffJob`
   * before anything is written (E11_INVALID_PARAMS) and by the container before `run`.
   */
  schema?: StandardSchemaV1<P, O>;
}

/** `defineJob({ name, schema })`: params and run params are the schema's input and output types. */
export interface DefineJobSpec<S extends StandardSchemaV1> {
  name: string;
  schema: S;
}

/**
 * Declares a job for the backend and the container, in a module both import (it loads nothing of the
 * runner). Give the types, or let a Standard Schema give the params type:
 *
 * ```ts
 * export const SumSales = defineJob<{ month: string }, { totalCents: number }>('sum_sales');
 * export const Resize = defineJob({ name: 'resize', schema: z.object({ url: z.url(), width: z.int() }) });
 * ```
 *
 * Throws E11_INVALID_JOB_NAME for a malformed name and E11_INVALID_OPTIONS for a schema that is not
 * a Standard Schema.
 */
export function defineJob<P extends object = JobParams, R = unknown, O = P>(
  name: string,
  options?: DefineJobOptions<P, O>,
): JobHandle<P, R, O>;
export function defineJob<S extends StandardSchemaV1, R = unknown>(
  spec: DefineJobSpec<S>,
): JobHandle<StandardSchemaV1.InferInput<S>, R, StandardSchemaV1.InferOutput<S>>;
export function defineJob(
  nameOrSpec: string | DefineJobSpec<StandardSchemaV1>,
  options: DefineJobOptions<unknown, unknown> = {},
): AnyJobHandle {
  const spec =
    typeof nameOrSpec === 'object' && nameOrSpec !== null
      ? nameOrSpec
      : { name: nameOrSpec, schema: options?.schema };
  validateJobName(spec.name);
  if (spec.schema !== undefined && !isStandardSchema(spec.schema)) {
    throw new E11Error(
      ErrorCode.InvalidOptions,
      `defineJob('${spec.name}'): schema must be a Standard Schema (zod 4, valibot, arktype, ...).`,
      { context: { jobName: spec.name, path: 'schema' } },
    );
  }
  return Object.freeze({ name: spec.name, schema: spec.schema, [JOB_HANDLE]: true });
}

/** Whether a value is a handle made by {@link defineJob}. */
export function isJobHandle(value: unknown): value is AnyJobHandle {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { [JOB_HANDLE]?: unknown })[JOB_HANDLE] === true &&
    typeof (value as { name?: unknown }).name === 'string'
  );
}
