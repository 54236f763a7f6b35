import { E11Error, ErrorCode } from '../errors.js';

/** Firestore's limit on a document id, in UTF-8 bytes. */
const MAX_ID_BYTES = 1_500;

/**
 * Whether `id` can be a Firestore document id: a non-empty string of at most 1,500 bytes, without `/`
 * (which would address another collection), not `.` or `..`, and not of the reserved form `__x__`.
 */
export function isDocumentId(id: unknown): id is string {
  return (
    typeof id === 'string' &&
    id.length > 0 &&
    Buffer.byteLength(id, 'utf8') <= MAX_ID_BYTES &&
    !id.includes('/') &&
    id !== '.' &&
    id !== '..' &&
    !/^__.*__$/s.test(id)
  );
}

/** Shows an id in a message: quoted, and cut short when it is long. */
function shown(id: unknown): string {
  const text = typeof id === 'string' ? id : String(id);
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}

/**
 * Checks an orchestration id before it reaches a document path: one that cannot be a document id
 * cannot name an orchestration, so it is `E11_UNKNOWN_ORCHESTRATION` (never a raw Firestore error).
 */
export function assertOrchestrationId(id: unknown): asserts id is string {
  if (isDocumentId(id)) return;
  throw new E11Error(
    ErrorCode.UnknownOrchestration,
    `Orchestration ${shown(id)} does not exist (not a valid id).`,
    {
      context: { orchestrationId: String(id), reason: 'invalid-id' },
    },
  );
}

/** Checks a job id the same way: `E11_UNKNOWN_JOB` for one that cannot be a document id. */
export function assertJobId(orchestrationId: string, jobId: unknown): asserts jobId is string {
  if (isDocumentId(jobId)) return;
  throw new E11Error(
    ErrorCode.UnknownJob,
    `Job ${shown(jobId)} of orchestration ${orchestrationId} does not exist (not a valid id).`,
    { context: { orchestrationId, jobId: String(jobId), reason: 'invalid-id' } },
  );
}

/** Checks a list of job ids (retryFailed, discard): an array whose every entry is a valid id. */
export function assertJobIds(orchestrationId: string, jobIds: unknown): asserts jobIds is readonly string[] {
  if (!Array.isArray(jobIds)) {
    throw new E11Error(ErrorCode.InvalidOptions, 'jobIds must be an array of job ids.', {
      context: { orchestrationId, path: 'jobIds' },
    });
  }
  for (const jobId of jobIds) assertJobId(orchestrationId, jobId);
}
