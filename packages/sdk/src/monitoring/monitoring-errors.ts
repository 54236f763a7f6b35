import { E11Error, ErrorCode, fromGrpcError } from '@e11/core';

/** `E11_UNKNOWN_ORCHESTRATION` for an id that has no document (or had one that was deleted). */
export function unknownOrchestration(orchestrationId: string, deleted = false): E11Error {
  const message = deleted
    ? `Orchestration ${orchestrationId} was deleted while it was being watched.`
    : `Orchestration ${orchestrationId} does not exist.`;
  return new E11Error(ErrorCode.UnknownOrchestration, message, { context: { orchestrationId } });
}

/** A Firestore listener failure as an `E11_UNAVAILABLE` error that keeps the gRPC code. */
export function listenerFailure(error: unknown, orchestrationId: string): E11Error {
  return fromGrpcError(error, ErrorCode.Unavailable, 'The real-time listener failed', { orchestrationId });
}

/** Checks that `id` can be a Firestore document id (see validate/document-id.ts). */
export { assertOrchestrationId } from '@e11/core';
