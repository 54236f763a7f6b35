import { cloudLoggingOptions, type Logger } from '@e11/core';
import type { SpanContext } from '@opentelemetry/api';
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

/** Options of {@link createRunnerLogger}; all optional. */
export interface RunnerLoggerOptions {
  /** The task environment the defaults below are read from. @default process.env */
  env?: Readonly<Record<string, string | undefined>>;
  /** @default E11_LOG_LEVEL, else 'info' */
  level?: string;
  /** Where each line goes (after redaction). @default process.stdout */
  write?: (line: string) => void;
  /** `serviceContext.service`, which Error Reporting groups by. @default JOB_NAME, else 'e11-runner' */
  service?: string;
  /** `serviceContext.version`. @default none */
  version?: string;
  /** The project in `logging.googleapis.com/trace`. @default GOOGLE_CLOUD_PROJECT, else GCLOUD_PROJECT, else '' */
  projectId?: string;
  /** The span lines belong to when no OpenTelemetry span is active (e.g. the attempt's). @default none */
  traceContext?: () => SpanContext | undefined;
}

/**
 * One pino logger per task process writing Cloud Logging structured JSON to stdout: `severity`,
 * `message`, `timestamp`, `serviceContext` (the job name), the trace of the current span, `stack_trace`
 * of an Error logged under `err`, and the `logging.googleapis.com/labels` Cloud Logging indexes
 * (orchestrationId, jobId, jobName, attempt). Every line goes through the redactor before it is written.
 */
export function createRunnerLogger(options: RunnerLoggerOptions = {}): RunnerLogger {
  const labels: LogLabels = {};
  let redact = (line: string) => line;
  const write = options.write ?? ((line: string) => void process.stdout.write(line));
  const env = options.env ?? process.env;
  const logger = pino(
    cloudLoggingOptions({
      level: options.level ?? env.E11_LOG_LEVEL ?? 'info',
      service: options.service ?? (env.JOB_NAME || 'e11-runner'),
      version: options.version,
      projectId: options.projectId ?? env.GOOGLE_CLOUD_PROJECT ?? env.GCLOUD_PROJECT ?? '',
      traceContext: options.traceContext,
      mixin: () => (Object.keys(labels).length > 0 ? { 'logging.googleapis.com/labels': { ...labels } } : {}),
    }),
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
