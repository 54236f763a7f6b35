/**
 * Every error the SDK, the runner and the functions raise on purpose is an {@link E11Error} with a
 * stable string `code`. Match on `code`, never on the message.
 */
export const ErrorCode = {
  /** A parameter set is not a JSON-serializable plain object, or too large for one document. */
  InvalidParams: 'E11_INVALID_PARAMS',
  /** The job name is empty, malformed, or maps to an invalid Cloud Run job id. */
  InvalidJobName: 'E11_INVALID_JOB_NAME',
  /** An option passed to a function or constructor is out of range or of the wrong type. */
  InvalidOptions: 'E11_INVALID_OPTIONS',
  /** More parameter sets than the configured ceiling. */
  TooManyJobs: 'E11_TOO_MANY_JOBS',
  /** No orchestration with this id. */
  UnknownOrchestration: 'E11_UNKNOWN_ORCHESTRATION',
  /** No job with this id in the orchestration. */
  UnknownJob: 'E11_UNKNOWN_JOB',
  /** The Pub/Sub topic a kick-off would publish its JobCompletedEvent on does not exist. */
  UnknownTopic: 'E11_UNKNOWN_TOPIC',
  /** A task could not be launched. `retryable` says whether trying again can help. */
  LaunchFailed: 'E11_LAUNCH_FAILED',
  /** Registering the job documents failed; nothing was launched. */
  RegistrationFailed: 'E11_REGISTRATION_FAILED',
  /** Waiting for something took longer than allowed. */
  Timeout: 'E11_TIMEOUT',
  /** The job ran and threw; `cause` holds what it threw. */
  JobFailed: 'E11_JOB_FAILED',
  /** Params failed the job class's schema. */
  ValidationFailed: 'E11_VALIDATION_FAILED',
  /** The task environment lacks JOB_NAME / ORCHESTRATION_ID / JOB_ID or has malformed values. */
  InvalidTaskEnv: 'E11_INVALID_TASK_ENV',
  /** No job class carries the requested @JobName. */
  UnknownJobName: 'E11_UNKNOWN_JOB_NAME',
  /** Two job classes share one @JobName. */
  DuplicateJobName: 'E11_DUPLICATE_JOB_NAME',
  /** The task was stopped (SIGTERM, cancellation) before the job finished. */
  Interrupted: 'E11_INTERRUPTED',
  /**
   * A task's claim on its job is gone (another task took the job over, or it ended elsewhere): the
   * task's heartbeat, progress and checkpoint writes are refused and its AbortSignal fires.
   */
  ClaimLost: 'E11_CLAIM_LOST',
  /** A task's JOB_NAME is not the job name of the job its env points to (wrong image or mapping). */
  JobNameMismatch: 'E11_JOB_NAME_MISMATCH',
  /** The task's container died without reporting (heartbeat went stale). */
  Crashed: 'E11_CRASHED',
  /** The orchestration was cancelled. */
  Cancelled: 'E11_CANCELLED',
  /** A stored document does not match the expected shape. */
  CorruptDocument: 'E11_CORRUPT_DOCUMENT',
  /** A JobCompletedEvent message failed validation. */
  InvalidEvent: 'E11_INVALID_EVENT',
  /** A Firestore trigger CloudEvent is malformed or is not about an E11 job document. */
  InvalidTriggerEvent: 'E11_INVALID_TRIGGER_EVENT',
  /** A schedule definition is invalid (cron, time zone, params). */
  InvalidSchedule: 'E11_INVALID_SCHEDULE',
  /** No schedule with this name. */
  UnknownSchedule: 'E11_UNKNOWN_SCHEDULE',
  /** A caller is not allowed to see this orchestration (tenant isolation). */
  Forbidden: 'E11_FORBIDDEN',
  /**
   * A tenant-scoped service was asked to act beyond its tenant: re-scoped to another tenant with
   * `forTenant()`, or asked for a maintenance pass (`sweep()`) that acts on every tenant.
   */
  TenantScope: 'E11_TENANT_SCOPE',
  /** A pagination cursor is malformed or belongs to another query. */
  InvalidCursor: 'E11_INVALID_CURSOR',
  /** A Google API call failed in a way not covered above. */
  Unavailable: 'E11_UNAVAILABLE',
  /** The orchestration was paused: a launch run stopped, its jobs wait (Pending) for `resume()`. */
  Paused: 'E11_PAUSED',
  /** No pipeline of that id (or of the caller's tenant), or a pipeline definition not registered with this service. */
  UnknownPipeline: 'E11_UNKNOWN_PIPELINE',
  /** The operation does not apply to the pipeline or orchestration in its current state (e.g. retrying a running pipeline). */
  InvalidState: 'E11_INVALID_STATE',
} as const;

/** One of the stable error codes in {@link ErrorCode}. */
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Where an error happened. Every field is optional; set what is known. */
export interface E11ErrorContext {
  readonly orchestrationId?: string;
  readonly jobId?: string;
  readonly jobName?: string;
  readonly executionName?: string;
  /** Index of the offending parameter set, for validation errors. */
  readonly index?: number;
  /** Path inside a value (e.g. `params[3].user.email`), for validation errors. */
  readonly path?: string;
  /** The gRPC status code of an underlying Google API error. */
  readonly grpcCode?: number;
  readonly [key: string]: unknown;
}

/** Options for {@link E11Error}. */
export interface E11ErrorOptions {
  /** Whether the same call may succeed if tried again. @default false */
  retryable?: boolean;
  cause?: unknown;
  context?: E11ErrorContext;
}

/** The base error: a stable `code`, `retryable`, readonly `context` and the original `cause`. */
export class E11Error extends Error {
  override readonly name: string = 'E11Error';
  readonly code: ErrorCodeValue;
  readonly retryable: boolean;
  readonly context: E11ErrorContext;

  constructor(code: ErrorCodeValue, message: string, options: E11ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.context = Object.freeze({ ...options.context });
  }

  /** A plain, JSON-safe view (used for logs and stored error fields). */
  toJSON(): { name: string; code: string; message: string; retryable: boolean; context: E11ErrorContext } {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      retryable: this.retryable,
      context: this.context,
    };
  }
}

/** True when `error` is an {@link E11Error}, optionally with the given code. Works across copies of the package. */
export function isE11Error(error: unknown, code?: ErrorCodeValue): error is E11Error {
  if (typeof error !== 'object' || error === null) return false;
  const candidate = error as { code?: unknown; retryable?: unknown; context?: unknown };
  const shaped =
    error instanceof E11Error ||
    (typeof candidate.code === 'string' &&
      candidate.code.startsWith('E11_') &&
      typeof candidate.retryable === 'boolean' &&
      typeof candidate.context === 'object');
  return shaped && (code === undefined || candidate.code === code);
}
