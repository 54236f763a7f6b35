import { createGcpLoggingPinoConfig } from '@google-cloud/pino-logging-gcp-config';
import { context, isSpanContextValid, type SpanContext, trace } from '@opentelemetry/api';
import { type DestinationStream, pino, type Logger, type LoggerOptions } from 'pino';

/** The logger every E11 process uses: pino's, with Cloud Logging's field names (see `createLogger`). */
export type { Logger } from 'pino';

/** What E11 adds to pino's options for Cloud Logging and Error Reporting; all optional. */
export interface CloudLoggingSettings {
  /**
   * `serviceContext.service` of every line: Error Reporting groups errors by it.
   * @default the logger's `name`, else `'e11'`
   */
  service?: string;
  /** `serviceContext.version` of every line (e.g. your release or image tag). @default none */
  version?: string;
  /**
   * The project of the traces: `logging.googleapis.com/trace` is `projects/{projectId}/traces/{traceId}`
   * (just the trace id when empty).
   * @default GOOGLE_CLOUD_PROJECT, else GCLOUD_PROJECT, else ''
   */
  projectId?: string;
  /**
   * The span a line belongs to when no OpenTelemetry span is active (e.g. the runner's attempt span
   * where no context manager is registered). The active span, when there is one, wins.
   * @default none
   */
  traceContext?: () => SpanContext | undefined;
}

/** pino's options plus {@link CloudLoggingSettings}. */
export type CloudLoggingOptions = LoggerOptions & CloudLoggingSettings;

// The OpenTelemetry fields of the span a line is logged in (the active span, else traceContext()), as
// OpenTelemetry's log data model names them; the formatter turns them into logging.googleapis.com/trace,
// logging.googleapis.com/spanId and logging.googleapis.com/trace_sampled.
function traceFields(traceContext?: () => SpanContext | undefined): Record<string, string> {
  const active = trace.getSpanContext(context.active());
  const span = active && isSpanContextValid(active) ? active : traceContext?.();
  if (!span || !isSpanContextValid(span)) return {};
  return {
    trace_id: span.traceId,
    span_id: span.spanId,
    trace_flags: span.traceFlags.toString(16).padStart(2, '0'),
  };
}

/**
 * pino options that produce Cloud Logging structured JSON (through `@google-cloud/pino-logging-gcp-config`):
 * `severity`, `message`, `timestamp` (`{ seconds, nanos }`), `logging.googleapis.com/insertId`,
 * `serviceContext`, the trace fields of the current span, and `stack_trace` when an Error is logged
 * under `err` (`logger.error({ err }, 'message')`), which Error Reporting groups. Never contacts the
 * metadata server: the service and project are given, not detected.
 */
export function cloudLoggingOptions(options: CloudLoggingOptions = {}): LoggerOptions {
  const { service, version, projectId, traceContext, mixin, ...pinoOptions } = options;
  return createGcpLoggingPinoConfig(
    {
      serviceContext: {
        service: service || pinoOptions.name || 'e11',
        ...(version ? { version } : {}),
      },
      traceGoogleCloudProjectId:
        projectId ?? process.env.GOOGLE_CLOUD_PROJECT ?? process.env.GCLOUD_PROJECT ?? '',
      inihibitDiagnosticMessage: true,
    },
    {
      base: undefined,
      ...pinoOptions,
      mixin: (mergeObject, level, logger) => ({
        ...traceFields(traceContext),
        ...mixin?.(mergeObject, level, logger),
      }),
    },
  );
}

/**
 * The SDK's logger: Cloud Logging-shaped JSON lines on stdout (or `destination`), quiet by default
 * (`warn`, or E11_LOG_LEVEL), with `serviceContext.service` = `name`. Pass your own pino logger in the
 * options of any E11 class to route logs elsewhere.
 */
export function createLogger(
  name: string,
  options: CloudLoggingOptions = {},
  destination?: DestinationStream,
): Logger {
  const settings = cloudLoggingOptions({ name, level: process.env.E11_LOG_LEVEL ?? 'warn', ...options });
  return destination === undefined ? pino(settings) : pino(settings, destination);
}
