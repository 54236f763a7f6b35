import { E11Error, ErrorCode } from '../errors.js';
import type { JobParams } from '../model/json.js';

/** Firestore nests maps and arrays at most this deep. */
const MAX_DEPTH = 20;

/** Limits checked by {@link validateParamsList}. */
export interface ParamsLimits {
  maxJobs: number;
  maxParamsBytes: number;
}

function fail(index: number, path: string, problem: string): never {
  throw new E11Error(ErrorCode.InvalidParams, `${path}: ${problem}`, { context: { index, path } });
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'object') {
    const name = (Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null)?.constructor
      ?.name;
    return name ? `an instance of ${name}` : 'an object';
  }
  const primitive = value as string | number | boolean | bigint | symbol | undefined;
  return `${typeof value} ${typeof primitive === 'symbol' ? primitive.toString() : String(primitive)}`;
}

/** Storage size of a value as Firestore counts it (strings: UTF-8 bytes + 1; numbers 8; maps: keys + values). */
export function firestoreValueSize(value: unknown): number {
  if (value === null || typeof value === 'boolean') return 1;
  if (typeof value === 'number') return 8;
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8') + 1;
  if (Array.isArray(value)) return value.reduce((sum: number, item) => sum + firestoreValueSize(item), 0);
  let size = 0;
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    size += Buffer.byteLength(key, 'utf8') + 1 + firestoreValueSize(item);
  }
  return size;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

function checkValue(
  value: unknown,
  index: number,
  path: string,
  depth: number,
  seen: Set<object>,
  inArray: boolean,
) {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value))
        fail(index, path, `${value} is not a finite number (JSON has no NaN or Infinity).`);
      return;
    case 'undefined':
      fail(index, path, 'undefined is not allowed (JSON drops it silently): omit the key or use null.');
      break;
    case 'function':
    case 'symbol':
    case 'bigint':
      fail(index, path, `${describe(value)} is not JSON-serializable.`);
      break;
    case 'object':
      if (value === null) return;
      if (seen.has(value)) fail(index, path, 'is a cyclic reference.');
      if (depth >= MAX_DEPTH) fail(index, path, `nests deeper than ${MAX_DEPTH} levels (Firestore's limit).`);
      seen.add(value);
      if (Array.isArray(value)) {
        if (inArray)
          fail(
            index,
            path,
            'is an array inside an array, which Firestore cannot store: wrap it in an object.',
          );
        value.forEach((item, i) => checkValue(item, index, `${path}[${i}]`, depth + 1, seen, true));
      } else if (isPlainObject(value)) {
        for (const [key, item] of Object.entries(value)) {
          checkKey(key, index, path);
          checkValue(item, index, `${path}.${key}`, depth + 1, seen, false);
        }
      } else {
        fail(
          index,
          path,
          `${describe(value)} is not a plain JSON object (convert dates to ISO strings, classes to plain objects).`,
        );
      }
      seen.delete(value);
      return;
  }
}

function checkKey(key: string, index: number, path: string) {
  if (key === '') fail(index, path, 'has an empty key, which Firestore cannot store.');
  if (/^__.*__$/.test(key))
    fail(index, `${path}.${key}`, 'keys of the form __name__ are reserved by Firestore.');
  if (Buffer.byteLength(key, 'utf8') > 1_500)
    fail(index, `${path}.${key.slice(0, 20)}…`, 'key longer than 1,500 bytes.');
}

/**
 * Validates a kick-off's parameter sets before anything is written: a non-empty array of at most
 * `maxJobs` plain JSON objects (no undefined, functions, class instances, cycles, NaN, nested arrays),
 * each at most `maxParamsBytes` as stored: the larger of its JSON text (a job document's form) and its
 * size as a Firestore map (a schedule document's form). Throws `E11_INVALID_PARAMS` naming the
 * index and path (e.g. `params[3].user.email`), or `E11_TOO_MANY_JOBS`.
 */
export function validateParamsList(params: unknown, limits: ParamsLimits): asserts params is JobParams[] {
  if (!Array.isArray(params)) {
    throw new E11Error(
      ErrorCode.InvalidParams,
      `params must be an array of parameter objects, got ${describe(params)}.`,
    );
  }
  if (params.length === 0) {
    throw new E11Error(
      ErrorCode.InvalidParams,
      'params is empty: pass at least one parameter set (one per job).',
    );
  }
  if (params.length > limits.maxJobs) {
    throw new E11Error(
      ErrorCode.TooManyJobs,
      `${params.length} parameter sets exceed the ceiling of ${limits.maxJobs} jobs per orchestration ` +
        `(raise maxJobsPerOrchestration, or split the work).`,
      { context: { count: params.length, max: limits.maxJobs } },
    );
  }
  params.forEach((value: unknown, index) => {
    const path = `params[${index}]`;
    if (!isPlainObject(value)) fail(index, path, `must be a plain object, got ${describe(value)}.`);
    checkValue(value, index, path, 0, new Set(), false);
    const size = Math.max(firestoreValueSize(value), Buffer.byteLength(JSON.stringify(value), 'utf8'));
    if (size > limits.maxParamsBytes) {
      fail(
        index,
        path,
        `is ${size} bytes, over the ${limits.maxParamsBytes}-byte limit for one job's params (a Firestore document holds ` +
          `at most 1 MiB): store large inputs elsewhere (e.g. Cloud Storage) and pass a reference.`,
      );
    }
  });
}
