import { cloudLoggingOptions, type Logger } from '@e11/core';
import { pino } from 'pino';

/** Labels every runner log line carries under `logging.googleapis.com/labels`. */
export interface LogLabels {
  orchestrationId?: string;
  jobId?: string;
  jobName?: string;
  attempt?: string;
}

/** The runner's process logger plus the knobs it needs while a job is found and run. */
export interface RunnerLogger {
  logger: Logger;
  /** Labels added to every line from now on. */
  setLabels(labels: LogLabels): void;
  /** Text filter applied to every line (sensitive values → [REDACTED]). */
  setRedactor(redact: (line: string) => string): void;
}

/**
 * One pino logger per task process writing Cloud Logging structured JSON to stdout: `severity`,
 * `message`, `time`, and the `logging.googleapis.com/labels` Cloud Logging indexes (orchestrationId,
 * jobId, jobName, attempt). Every line goes through the redactor before it is written.
 */
export function createRunnerLogger(
  options: { level?: string; write?: (line: string) => void } = {},
): RunnerLogger {
  const labels: LogLabels = {};
  let redact = (line: string) => line;
  const write = options.write ?? ((line: string) => void process.stdout.write(line));
  const logger = pino(
    {
      ...cloudLoggingOptions({ level: options.level ?? process.env.E11_LOG_LEVEL ?? 'info' }),
      mixin: () => (Object.keys(labels).length > 0 ? { 'logging.googleapis.com/labels': { ...labels } } : {}),
    },
    { write: (line: string) => write(redact(line)) },
  );
  return {
    logger,
    setLabels: (next) => Object.assign(labels, next),
    setRedactor: (next) => {
      redact = next;
    },
  };
}
