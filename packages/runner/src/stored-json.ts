import { DEFAULTS, E11Error, ErrorCode, firestoreValueSize } from '@e11/core';

/**
 * The JSON value a job's result or checkpoint is stored as (`undefined` → null). Throws E11_JOB_FAILED
 * with a clear message when the value is not JSON-serializable or larger than DEFAULTS.maxResultBytes.
 */
export function toStoredJson(value: unknown, what: 'result' | 'checkpoint'): unknown {
  let json: unknown;
  try {
    json = value === undefined ? null : (JSON.parse(JSON.stringify(value)) as unknown);
  } catch (error) {
    throw new E11Error(
      ErrorCode.JobFailed,
      `The job's ${what} is not JSON-serializable: ${(error as Error).message}`,
    );
  }
  const size = firestoreValueSize(json);
  if (size > DEFAULTS.maxResultBytes) {
    throw new E11Error(
      ErrorCode.JobFailed,
      `The job's ${what} is ${size} bytes, over the ${DEFAULTS.maxResultBytes}-byte limit: store large data elsewhere (e.g. Cloud Storage) and keep a reference.`,
    );
  }
  return json;
}
