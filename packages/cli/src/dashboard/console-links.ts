import { E11Error, ErrorCode } from '@e11/core';

/**
 * Links from the dashboard to the Google Cloud console: a job's logs in Cloud Logging and an
 * orchestration's trace. Pure functions of their inputs, so the page never builds a URL by hand.
 */

/**
 * The trace link's default: Cloud Trace's explorer opened on one trace. `{projectId}` and `{traceId}`
 * are replaced (URL-encoded); another backend (Jaeger, Grafana Tempo…) takes its own template.
 */
export const DEFAULT_TRACE_URL_TEMPLATE =
  'https://console.cloud.google.com/traces/list?project={projectId}&tid={traceId}';

/** The Logs Explorer of the Cloud console. */
const LOGS_EXPLORER = 'https://console.cloud.google.com/logs/query';

/** Which logs {@link cloudLoggingUrl} opens. */
export interface LogsQuery {
  projectId: string;
  orchestrationId: string;
  /** Narrows the query to one job's lines; the whole orchestration's otherwise. */
  jobId?: string;
}

/** A Logging query string literal: quotes and backslashes escaped. */
function quoted(value: string): string {
  return `"${value.replace(/[\\"]/g, (char) => `\\${char}`)}"`;
}

/**
 * The Cloud Logging query of a job's (or an orchestration's) log lines: the runner labels every line
 * with `orchestrationId` and `jobId` under `logging.googleapis.com/labels`, which Cloud Logging shows
 * as `labels.orchestrationId` and `labels.jobId`.
 */
export function logsQuery(query: Omit<LogsQuery, 'projectId'>): string {
  const terms = [`labels.orchestrationId=${quoted(query.orchestrationId)}`];
  if (query.jobId !== undefined) terms.push(`labels.jobId=${quoted(query.jobId)}`);
  return terms.join('\n');
}

/**
 * The Logs Explorer URL showing {@link logsQuery} in `projectId`. The query goes in the path's
 * `;query=` parameter, percent-encoded, as the console itself writes it.
 */
export function cloudLoggingUrl(query: LogsQuery): string {
  return `${LOGS_EXPLORER};query=${encodeURIComponent(logsQuery(query))}?project=${encodeURIComponent(query.projectId)}`;
}

/**
 * The trace link: `template` with `{projectId}` and `{traceId}` replaced by their URL-encoded
 * values (each occurrence). Null when there is no trace id.
 */
export function traceUrl(
  template: string,
  values: { projectId: string; traceId: string | null | undefined },
): string | null {
  const { traceId } = values;
  if (traceId === null || traceId === undefined || traceId === '') return null;
  return template
    .replaceAll('{projectId}', encodeURIComponent(values.projectId))
    .replaceAll('{traceId}', encodeURIComponent(traceId));
}

/**
 * Checks a trace URL template given as an option: an `http:` or `https:` URL naming `{traceId}`.
 * Throws `E11_INVALID_OPTIONS` otherwise; returns the template.
 */
export function checkTraceUrlTemplate(template: string): string {
  let protocol: string | undefined;
  try {
    protocol = new URL(template).protocol;
  } catch {
    protocol = undefined;
  }
  if ((protocol !== 'https:' && protocol !== 'http:') || !template.includes('{traceId}')) {
    throw new E11Error(
      ErrorCode.InvalidOptions,
      `traceUrlTemplate must be an http(s) URL containing {traceId}, got ${JSON.stringify(template)}.`,
      { context: { path: 'traceUrlTemplate' } },
    );
  }
  return template;
}
