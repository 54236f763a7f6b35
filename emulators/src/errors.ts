/**
 * Why the local stack could not start or stop. The message is one line that says what is wrong
 * and how to fix it; `code` is stable for scripts.
 */
export class StackError extends Error {
  override readonly name = 'StackError';
  constructor(
    readonly code:
      | 'E11_JAVA_MISSING'
      | 'E11_JAVA_TOO_OLD'
      | 'E11_PORT_IN_USE'
      | 'E11_STACK_START_TIMEOUT'
      | 'E11_STACK_START_FAILED'
      | 'E11_EMULATOR_BINARY_MISSING'
      | 'E11_STACK_CONFIG_NOT_FOUND'
      | 'E11_STACK_CONFIG_INVALID',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** True when `error` is a {@link StackError}, optionally with the given code. */
export function isStackError(error: unknown, code?: StackError['code']): error is StackError {
  return error instanceof StackError && (code === undefined || error.code === code);
}

/**
 * `error` as a {@link StackError}: a StackError stays as it is; anything else becomes `code` with
 * `what` and the original message, keeping the original as `cause`.
 */
export function toStackError(error: unknown, code: StackError['code'], what: string): StackError {
  if (error instanceof StackError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new StackError(code, `${what}: ${message.split('\n')[0] ?? ''}`, { cause: error });
}
