import { E11Error, ErrorCode, type E11ErrorContext, type ErrorCodeValue } from '../errors.js';

/** gRPC status codes (google.rpc.Code) that the SDK reasons about. */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

/**
 * Codes worth retrying with backoff: quota (429), unavailable (503), and transient server faults. The
 * list is the Firestore client's own for transactions (isRetryableTransactionError), so CANCELLED is in
 * it: the Firestore emulator answers a commit it applied with CANCELLED ("call already cancelled") when
 * notifying a listen stream its client had closed failed inside the commit; every write of ours is fenced
 * and re-reads what it wrote, as for UNKNOWN. A call this process cancelled is not retried.
 */
const RETRYABLE = new Set<number>([
  GrpcStatus.CANCELLED,
  GrpcStatus.RESOURCE_EXHAUSTED,
  GrpcStatus.UNAVAILABLE,
  GrpcStatus.ABORTED,
  GrpcStatus.INTERNAL,
  GrpcStatus.DEADLINE_EXCEEDED,
  GrpcStatus.UNKNOWN,
]);

/** The numeric gRPC status of a Google client error, if it has one. HTTP 429/503 map to 8/14. */
export function grpcCodeOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code } = error as { code?: unknown };
  if (typeof code !== 'number') return undefined;
  if (code === 429) return GrpcStatus.RESOURCE_EXHAUSTED;
  if (code === 503) return GrpcStatus.UNAVAILABLE;
  if (code === 404) return GrpcStatus.NOT_FOUND;
  if (code === 403) return GrpcStatus.PERMISSION_DENIED;
  return code >= 0 && code <= 16 ? code : undefined;
}

/**
 * Firestore answers INVALID_ARGUMENT ("Transaction is invalid or closed", "transaction has expired")
 * when a connection dropped in the middle of a transaction: running the whole transaction again is
 * safe, unlike other INVALID_ARGUMENT answers (a value Firestore cannot store).
 */
const LOST_TRANSACTION = /transaction (is invalid|has expired|.*closed)/i;

/** How grpc-js words a call cancelled by this process (not by the server). */
const CANCELLED_HERE = /cancelled on client/i;

/** Whether a Google API error is transient (worth trying the whole operation again). */
export function isRetryableGrpcError(error: unknown): boolean {
  const code = grpcCodeOf(error);
  if (code === GrpcStatus.INVALID_ARGUMENT)
    return error instanceof Error && LOST_TRANSACTION.test(error.message);
  if (code === GrpcStatus.CANCELLED) return !(error instanceof Error && CANCELLED_HERE.test(error.message));
  return code !== undefined && RETRYABLE.has(code);
}

/**
 * The one place where Google client errors become {@link E11Error}s: keeps the gRPC status code in
 * `context.grpcCode`, sets `retryable`, and keeps the original as `cause`.
 */
export function fromGrpcError(
  error: unknown,
  code: ErrorCodeValue,
  what: string,
  context: E11ErrorContext = {},
): E11Error {
  const grpcCode = grpcCodeOf(error);
  const details = (error as { details?: unknown } | null)?.details;
  const text =
    typeof details === 'string' && details !== ''
      ? details
      : error instanceof Error
        ? error.message
        : String(error);
  return new E11Error(code, `${what}: ${text}`, {
    retryable: isRetryableGrpcError(error),
    cause: error,
    context: grpcCode === undefined ? context : { ...context, grpcCode },
  });
}

export { ErrorCode };
