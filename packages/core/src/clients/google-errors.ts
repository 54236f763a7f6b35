import { E11Error, ErrorCode, type ErrorCodeValue, isE11Error } from '../errors.js';
import { GrpcStatus, grpcCodeOf, isRetryableGrpcError } from '../internal/grpc-errors.js';

/** The environment a hint looks at (emulator hosts, the project). */
export type HintEnv = Readonly<Record<string, string | undefined>>;

/** Which Google service an error came from, for its message and hint. */
export type GoogleService = 'Firestore' | 'Pub/Sub' | 'Cloud Run';

/** The emulator variable of each service. */
const EMULATOR_ENV: Record<GoogleService, string> = {
  Firestore: 'FIRESTORE_EMULATOR_HOST',
  'Pub/Sub': 'PUBSUB_EMULATOR_HOST',
  'Cloud Run': 'E11_CLOUD_RUN_EMULATOR_HOST',
};

const STATUS_NAMES = new Map<number, string>(Object.entries(GrpcStatus).map(([name, code]) => [code, name]));

/** The name of a gRPC status code (`14` → `UNAVAILABLE`). */
export function grpcStatusName(code: number): string {
  return STATUS_NAMES.get(code) ?? String(code);
}

const CREDENTIALS_HINT =
  'Check the credentials with `gcloud auth application-default login` (or GOOGLE_APPLICATION_CREDENTIALS)';

/** What to try for a service that did not answer. */
export function unreachableHint(service: GoogleService, env: HintEnv = process.env): string {
  const emulatorName = EMULATOR_ENV[service];
  const emulator = env[emulatorName];
  if (emulator) return `Is the ${service} emulator running at ${emulator} (${emulatorName})?`;
  return `Is ${emulatorName} meant to be set (is the emulator running)? Otherwise check the network and the project (GOOGLE_CLOUD_PROJECT / --project). ${CREDENTIALS_HINT}.`;
}

/** The E11 code and the hint for one gRPC status. */
function classify(
  grpcCode: number,
  service: GoogleService,
  env: HintEnv,
): { code: ErrorCodeValue; hint: string } {
  switch (grpcCode) {
    case GrpcStatus.PERMISSION_DENIED:
      return {
        code: ErrorCode.Forbidden,
        hint: `The credentials are not allowed to use ${service} in this project: check the project (GOOGLE_CLOUD_PROJECT / --project) and the account's roles. ${CREDENTIALS_HINT}.`,
      };
    case GrpcStatus.UNAUTHENTICATED:
      return { code: ErrorCode.Forbidden, hint: `${CREDENTIALS_HINT}.` };
    case GrpcStatus.NOT_FOUND:
      return {
        code: ErrorCode.Unavailable,
        hint: `${service} does not know the resource: check the project (GOOGLE_CLOUD_PROJECT / --project) and, for Firestore, the database (E11_FIRESTORE_DATABASE / --database).`,
      };
    case GrpcStatus.RESOURCE_EXHAUSTED:
      return {
        code: ErrorCode.Unavailable,
        hint: `A ${service} quota or rate limit was reached: try again later.`,
      };
    default:
      return { code: ErrorCode.Unavailable, hint: unreachableHint(service, env) };
  }
}

/**
 * A Google client error (gRPC status, or an HTTP status the clients map to one) as an {@link E11Error}:
 * PERMISSION_DENIED and UNAUTHENTICATED become `E11_FORBIDDEN`, every other status `E11_UNAVAILABLE`
 * (`retryable` for the transient ones). The message names the service and the status
 * (`Firestore: UNAVAILABLE: …`), `context.grpcCode` keeps the status, `context.hint` says what to try,
 * `cause` is the original. An `E11Error` passes through unchanged; so does anything else without a gRPC
 * status (returned as it is).
 */
export function fromGoogleError(error: unknown, service: GoogleService, env: HintEnv = process.env): unknown {
  if (isE11Error(error)) return error;
  const grpcCode = grpcCodeOf(error);
  if (grpcCode === undefined) return error;
  const { code, hint } = classify(grpcCode, service, env);
  const details = (error as { details?: unknown }).details;
  const text =
    typeof details === 'string' && details !== ''
      ? details
      : error instanceof Error
        ? error.message.replace(/^\d+ [A-Z_]+: /, '')
        : String(error);
  return new E11Error(code, `${service}: ${grpcStatusName(grpcCode)}: ${text}`, {
    retryable: isRetryableGrpcError(error),
    cause: error,
    context: { grpcCode, hint },
  });
}
