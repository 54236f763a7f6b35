import { toMs } from '../duration.js';
import { E11Error, ErrorCode } from '../errors.js';

import { type AnyJobHandle, isJobHandle, type JobClassReference } from './job-handle.js';
import type { KickOffOptions } from './options.js';
import type { DeclaredPolicy } from './resolve-policy.js';
import { isStandardSchema, type StandardSchemaV1 } from './standard-schema.js';

/**
 * Where `@JobName` (@e11/runner) stores a class's definition with reflect-metadata. The SDK reads it
 * through the global `Reflect.getOwnMetadata` the runner installs, so it never imports the runner.
 */
const JOB_METADATA = Symbol.for('e11:job-name');

/** The job `kickOffJob` runs: its `@JobName` name, its class, or its handle (`defineJob`). */
export type JobReference = string | JobClassReference | AnyJobHandle;

/** What the SDK takes from a job class's `@JobName`. */
export interface DeclaredJob {
  name: string;
  /** Params keys the class declares sensitive (`@JobName(name, { sensitiveKeys })`). */
  sensitiveKeys: readonly string[];
  /** The retry and timeout settings the class declares (`maxAttempts`, `backoff`, `timeout`). */
  policy: DeclaredPolicy;
  /** The params schema the class (`@JobName` `schema`) or handle (`defineJob`) declares. */
  schema: StandardSchemaV1 | undefined;
}

type StoredOptions = {
  sensitiveKeys?: unknown;
  maxAttempts?: unknown;
  backoff?: { initialMs?: unknown; maxMs?: unknown };
  timeout?: unknown;
  schema?: unknown;
};

function finite(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** The policy fields of a class's `@JobName` options (validated by `@JobName` itself). */
function declaredPolicy(options: StoredOptions | undefined): DeclaredPolicy {
  const policy: DeclaredPolicy = {};
  const maxAttempts = finite(options?.maxAttempts);
  const initialMs = finite(options?.backoff?.initialMs);
  const maxMs = finite(options?.backoff?.maxMs);
  const timeout = options?.timeout;
  if (maxAttempts !== undefined) policy.maxAttempts = maxAttempts;
  if (initialMs !== undefined) policy.initialBackoffMs = initialMs;
  if (maxMs !== undefined) policy.maxBackoffMs = maxMs;
  if (typeof timeout === 'number' || typeof timeout === 'string')
    policy.jobTimeoutMs = toMs(timeout, 'timeout');
  return policy;
}

/** The `@JobName` declaration of a class, or undefined when it has none (or reflect-metadata is not loaded). */
export function readJobDeclaration(target: unknown): DeclaredJob | undefined {
  const reflect = Reflect as unknown as { getOwnMetadata?: (key: symbol, target: unknown) => unknown };
  if (typeof target !== 'function' || typeof reflect.getOwnMetadata !== 'function') return undefined;
  const stored = reflect.getOwnMetadata(JOB_METADATA, target) as
    { name?: unknown; options?: StoredOptions } | undefined;
  if (typeof stored?.name !== 'string') return undefined;
  const keys = stored.options?.sensitiveKeys;
  return {
    name: stored.name,
    sensitiveKeys: Array.isArray(keys) ? keys.filter((key): key is string => typeof key === 'string') : [],
    policy: declaredPolicy(stored.options),
    schema: isStandardSchema(stored.options?.schema) ? stored.options.schema : undefined,
  };
}

/** What a job handle declares: its name and schema (policy and sensitive keys are the class's). */
function handleDeclaration(handle: AnyJobHandle): DeclaredJob {
  return { name: handle.name, sensitiveKeys: [], policy: {}, schema: handle.schema };
}

/** The declaration of a `jobs` entry or kick-off target: a `@JobName` class or a job handle. */
function declarationOf(target: unknown): DeclaredJob | undefined {
  return isJobHandle(target) ? handleDeclaration(target) : readJobDeclaration(target);
}

function notAJobClass(path: string): E11Error {
  return new E11Error(
    ErrorCode.InvalidOptions,
    `${path} must be a job class decorated with @JobName (from @e11/runner) or a job handle (defineJob).`,
    { context: { path } },
  );
}

/**
 * The job classes and handles an `OrchestrationService` knows (`jobs` option), by name. A kick-off by
 * name, class or handle stores the union of its options' `sensitiveKeys` and the class's declared keys
 * with the orchestration, the one list every reader (results, watches, SSE, dashboard, CLI) redacts
 * with, and has its params checked with the declared schema.
 */
export class JobDefinitions {
  private readonly byName = new Map<string, DeclaredJob>();

  /** Throws E11_INVALID_OPTIONS for an entry that is neither a `@JobName` class nor a handle, or two classes with one name. */
  constructor(classes: readonly unknown[] = []) {
    if (!Array.isArray(classes)) throw notAJobClass('jobs');
    const fromClass = new Set<string>();
    classes.forEach((target, index) => {
      const declared = declarationOf(target);
      if (!declared) throw notAJobClass(`jobs[${index}]`);
      const known = this.byName.get(declared.name);
      if (isJobHandle(target)) {
        // A handle adds its schema to a class of the same name (which keeps its keys and policy).
        this.byName.set(
          declared.name,
          known ? { ...known, schema: known.schema ?? declared.schema } : declared,
        );
        return;
      }
      if (known && fromClass.has(declared.name) && !sameKeys(known.sensitiveKeys, declared.sensitiveKeys)) {
        throw new E11Error(
          ErrorCode.InvalidOptions,
          `jobs[${index}]: two classes are named '${declared.name}' with different sensitive keys.`,
          { context: { path: `jobs[${index}]`, jobName: declared.name } },
        );
      }
      fromClass.add(declared.name);
      this.byName.set(declared.name, { ...declared, schema: declared.schema ?? known?.schema });
    });
  }

  /**
   * The job name of a kick-off, its options with the class's declared sensitive keys added, and the
   * job's declaration (when the class or handle is given, or registered under that name: its policy is
   * then resolved at kick-off, see `resolveJobPolicy`, and its schema checks the params). A name the
   * service does not know keeps the options' keys; the runner adds the class's when it claims a job
   * (see `addSensitiveKeys`).
   */
  resolve(
    job: unknown,
    options: KickOffOptions | undefined,
  ): { jobName: string; options: KickOffOptions | undefined; declared: DeclaredJob | undefined } {
    let declared: DeclaredJob | undefined;
    let jobName: string;
    if (isJobHandle(job)) {
      jobName = job.name;
      const registered = this.byName.get(jobName);
      declared = registered
        ? { ...registered, schema: job.schema ?? registered.schema }
        : handleDeclaration(job);
    } else if (typeof job === 'function') {
      declared = readJobDeclaration(job);
      if (!declared) throw notAJobClass('job');
      jobName = declared.name;
    } else {
      // A name is validated by the kick-off itself (E11_INVALID_JOB_NAME).
      jobName = job as string;
      declared = typeof job === 'string' ? this.byName.get(job) : undefined;
    }
    const given = options?.sensitiveKeys;
    // Malformed keys are left for the options' own validation (E11_INVALID_OPTIONS).
    if (!declared || declared.sensitiveKeys.length === 0 || (given !== undefined && !Array.isArray(given)))
      return { jobName, options, declared };
    const union = [...new Set([...(given ?? []), ...declared.sensitiveKeys])];
    return { jobName, options: { ...options, sensitiveKeys: union }, declared };
  }
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((key) => b.includes(key));
}
