/** Stable codes of {@link CloudRunEmulatorError}, for scripts and tests. */
export type CloudRunEmulatorErrorCode =
  | 'E11_CLOUD_RUN_CONFIG_NOT_FOUND'
  | 'E11_CLOUD_RUN_CONFIG_INVALID'
  | 'E11_PORT_IN_USE'
  | 'E11_CLOUD_RUN_START_FAILED'
  | 'E11_CLOUD_RUN_UNKNOWN_EXECUTION'
  | 'E11_CLOUD_RUN_WAIT_TIMEOUT'
  | 'E11_CLOUD_RUN_STOPPED';

/**
 * Why the Cloud Run Jobs emulator refused to start, to accept a job definition, or to wait. The
 * message is one line that names the file and field at fault; `code` is stable.
 */
export class CloudRunEmulatorError extends Error {
  override readonly name = 'CloudRunEmulatorError';
  constructor(
    readonly code: CloudRunEmulatorErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
