import { describe, expect, it } from 'vitest';

import { GrpcStatus, isRetryableGrpcError } from './grpc-errors.js';

/** A Google client error as grpc-js builds it: `code` plus "<code> <NAME>: <details>" as the message. */
function grpcError(code: number, message: string): Error {
  return Object.assign(new Error(message), { code, details: message });
}

describe('isRetryableGrpcError', () => {
  it('retries a CANCELLED the server sent (the emulator answers an applied commit so), not one this process made', () => {
    expect(
      isRetryableGrpcError(
        grpcError(
          GrpcStatus.CANCELLED,
          '1 CANCELLED: call already cancelled. Use ServerCallStreamObserver.setOnCancelHandler() to disable this exception',
        ),
      ),
    ).toBe(true);
    expect(isRetryableGrpcError(grpcError(GrpcStatus.CANCELLED, '1 CANCELLED: Cancelled on client'))).toBe(
      false,
    );
  });

  it('retries quota, unavailability and transient faults, and a lost transaction; not a bad value or a refusal', () => {
    for (const code of [GrpcStatus.RESOURCE_EXHAUSTED, GrpcStatus.UNAVAILABLE, GrpcStatus.UNKNOWN, 429, 503])
      expect(isRetryableGrpcError(grpcError(code, 'x'))).toBe(true);
    expect(
      isRetryableGrpcError(
        grpcError(GrpcStatus.INVALID_ARGUMENT, '3 INVALID_ARGUMENT: transaction has expired'),
      ),
    ).toBe(true);
    for (const code of [GrpcStatus.INVALID_ARGUMENT, GrpcStatus.PERMISSION_DENIED, GrpcStatus.NOT_FOUND, 403])
      expect(isRetryableGrpcError(grpcError(code, 'x'))).toBe(false);
    expect(isRetryableGrpcError(new Error('no code'))).toBe(false);
  });
});
