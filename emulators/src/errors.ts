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
      | 'E11_EMULATOR_BINARY_MISSING',
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
