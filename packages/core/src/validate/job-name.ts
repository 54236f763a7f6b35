import { E11Error, ErrorCode } from '../errors.js';

const JOB_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,62}$/;
const CLOUD_RUN_JOB_ID = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Throws `E11_INVALID_JOB_NAME` unless `name` is 1-63 letters, digits, `_` or `-`, starting with a letter. */
export function validateJobName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !JOB_NAME.test(name)) {
    throw new E11Error(
      ErrorCode.InvalidJobName,
      `Invalid job name ${JSON.stringify(name)}: use 1-63 letters, digits, '_' or '-', starting with a letter (e.g. 'process_batch').`,
      { context: { jobName: typeof name === 'string' ? name : String(name) } },
    );
  }
}

/** How a job name becomes a Cloud Run job id. */
export type ServiceNameMapping = ((jobName: string) => string) | Readonly<Record<string, string>>;

/**
 * The default convention: lower-case, `_` → `-` (`process_batch` → `process-batch`). Cloud Run job ids
 * follow RFC 1035: lower-case letters, digits and `-`, starting with a letter, not ending with `-`, ≤ 63.
 */
export function defaultServiceName(jobName: string): string {
  return jobName.toLowerCase().replace(/_/g, '-');
}

/**
 * Maps a job name to its Cloud Run job id with `mapping` (a function, or a record whose missing names
 * fall back to the default convention) and validates the result against RFC 1035 before anything is
 * launched.
 */
export function serviceNameFor(jobName: string, mapping?: ServiceNameMapping): string {
  validateJobName(jobName);
  const service =
    typeof mapping === 'function' ? mapping(jobName) : (mapping?.[jobName] ?? defaultServiceName(jobName));
  if (typeof service !== 'string' || !CLOUD_RUN_JOB_ID.test(service)) {
    throw new E11Error(
      ErrorCode.InvalidJobName,
      `Job name '${jobName}' maps to Cloud Run job id ${JSON.stringify(service)}, which is not a valid id ` +
        `(lower-case letters, digits and '-', starting with a letter, not ending with '-', at most 63 characters).`,
      { context: { jobName } },
    );
  }
  return service;
}
