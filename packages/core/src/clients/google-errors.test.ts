import { describe, expect, it } from 'vitest';

import { E11Error, isE11Error } from '../errors.js';

import { fromGoogleError, grpcStatusName, unreachableHint } from './google-errors.js';

/** An error as @grpc/grpc-js rejects a call with: `code`, `details`, and the message `<code> <NAME>: <details>`. */
function grpcError(code: number, details: string): Error {
  return Object.assign(new Error(`${code} ${grpcStatusName(code)}: ${details}`), { code, details });
}

describe('fromGoogleError', () => {
  it('makes UNAVAILABLE an E11_UNAVAILABLE naming the service and status, retryable, with a hint and the cause', () => {
    const original = grpcError(14, 'No connection established. Last error: connect ECONNREFUSED 127.0.0.1:1');
    const error = fromGoogleError(original, 'Firestore', { FIRESTORE_EMULATOR_HOST: '127.0.0.1:1' });
    expect(isE11Error(error, 'E11_UNAVAILABLE')).toBe(true);
    expect(error).toMatchObject({
      message:
        'Firestore: UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED 127.0.0.1:1',
      retryable: true,
      cause: original,
      context: {
        grpcCode: 14,
        hint: 'Is the Firestore emulator running at 127.0.0.1:1 (FIRESTORE_EMULATOR_HOST)?',
      },
    });
  });

  it('maps PERMISSION_DENIED and UNAUTHENTICATED to E11_FORBIDDEN with a credentials hint', () => {
    for (const code of [7, 16]) {
      const error = fromGoogleError(grpcError(code, 'Missing or insufficient permissions.'), 'Firestore', {});
      expect(isE11Error(error, 'E11_FORBIDDEN')).toBe(true);
      expect((error as E11Error).retryable).toBe(false);
      expect((error as E11Error).context.hint).toContain('gcloud auth application-default login');
    }
  });

  it('maps the other statuses to E11_UNAVAILABLE with a hint of their own', () => {
    const notFound = fromGoogleError(grpcError(5, 'The database (default) does not exist.'), 'Firestore', {});
    expect(notFound).toMatchObject({ code: 'E11_UNAVAILABLE', retryable: false, context: { grpcCode: 5 } });
    expect((notFound as E11Error).context.hint).toContain('--database');
    const quota = fromGoogleError(grpcError(8, 'Quota exceeded.'), 'Pub/Sub', {});
    expect(quota).toMatchObject({ code: 'E11_UNAVAILABLE', retryable: true, context: { grpcCode: 8 } });
    expect((quota as E11Error).context.hint).toContain('quota');
    const deadline = fromGoogleError(grpcError(4, 'Deadline exceeded'), 'Firestore', {});
    expect(deadline).toMatchObject({ code: 'E11_UNAVAILABLE', retryable: true });
    expect((deadline as E11Error).context.hint).toBe(unreachableHint('Firestore', {}));
    expect((deadline as E11Error).context.hint).toContain('FIRESTORE_EMULATOR_HOST');
  });

  it('leaves E11Errors and errors without a gRPC status as they are', () => {
    const typed = new E11Error('E11_UNKNOWN_ORCHESTRATION', 'Orchestration x does not exist.');
    expect(fromGoogleError(typed, 'Firestore', {})).toBe(typed);
    const plain = new Error('disk full');
    expect(fromGoogleError(plain, 'Firestore', {})).toBe(plain);
  });
});
