import { type DestinationStream, pino, type Logger, type LoggerOptions } from 'pino';

/** The logger every E11 process uses: pino's, with Cloud Logging's field names (see `createLogger`). */
export type { Logger } from 'pino';

const SEVERITY: Record<string, string> = {
  trace: 'DEBUG',
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARNING',
  error: 'ERROR',
  fatal: 'CRITICAL',
};

/** pino options that produce Cloud Logging structured JSON: `severity`, `message`, ISO `time`. */
export function cloudLoggingOptions(options: LoggerOptions = {}): LoggerOptions {
  return {
    messageKey: 'message',
    timestamp: () => `,"time":"${new Date().toISOString()}"`,
    base: undefined,
    formatters: {
      level: (label) => ({ severity: SEVERITY[label] ?? 'DEFAULT' }),
    },
    ...options,
  };
}

/**
 * The SDK's logger: Cloud Logging-shaped JSON lines on stdout (or `destination`), quiet by default
 * (`warn`, or E11_LOG_LEVEL). Pass your own pino logger in the options of any E11 class to route logs
 * elsewhere.
 */
export function createLogger(
  name: string,
  options: LoggerOptions = {},
  destination?: DestinationStream,
): Logger {
  const settings = cloudLoggingOptions({ name, level: process.env.E11_LOG_LEVEL ?? 'warn', ...options });
  return destination === undefined ? pino(settings) : pino(settings, destination);
}
