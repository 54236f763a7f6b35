import {
  contextFromTraceparent,
  e11Tracer,
  formatTraceparent,
  recordSpanError,
  TraceAttribute,
  TracerScope,
  type TaskEnv,
} from '@e11/core';
import { type Context, context, type Span, type SpanContext, SpanKind, trace } from '@opentelemetry/api';

/**
 * The attempt spans running in this process, latest last: what {@link activeSpanContext} falls back
 * to when no context manager carries the span (a task runs one attempt at a time).
 */
const running: Span[] = [];

/**
 * The span context a log line of this process belongs to: the active span (the user's own span inside
 * `run()`, with a context manager registered), else the attempt span running now; undefined when
 * neither exists or no OpenTelemetry SDK is registered (the span context is then invalid).
 */
export function activeSpanContext(): SpanContext | undefined {
  const active = trace.getSpanContext(context.active());
  if (active !== undefined && trace.isSpanContextValid(active)) return active;
  const attempt = running.at(-1)?.spanContext();
  return attempt !== undefined && trace.isSpanContextValid(attempt) ? attempt : undefined;
}

/** One attempt's span: the context `run()` executes in and the traceparent its end write stores. */
export interface AttemptSpan {
  readonly span: Span;
  /** The context with the attempt span active (its parent: the launch's TRACEPARENT). */
  readonly context: Context;
  /** The attempt span's W3C traceparent; null when it is not a valid span (no SDK). */
  readonly traceparent: string | null;
  /** Marks the attempt failed (status ERROR and the exception). */
  fail(error: unknown): void;
  /** Ends the span with its final `e11.status`. */
  end(status: string): void;
}

/** What an attempt span names. */
export interface AttemptSpanInput {
  env: TaskEnv;
  orchestrationId: string;
  jobId: string;
  jobName: string;
  attempt: number;
}

/**
 * Starts the span of one attempt, `e11.attempt {jobName}` (kind consumer), a child of the launch span
 * whose trace context the task got as TRACEPARENT (or of the active span when there is none).
 */
export function startAttemptSpan(input: AttemptSpanInput): AttemptSpan {
  const { env } = input;
  const parent = contextFromTraceparent(env.trace?.traceparent, env.trace?.tracestate, context.active());
  const jobIndex = env.jobIndex ?? env.jobIndexHint;
  const span = e11Tracer(TracerScope.runner).startSpan(
    `e11.attempt ${input.jobName}`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        [TraceAttribute.orchestrationId]: input.orchestrationId,
        [TraceAttribute.jobId]: input.jobId,
        [TraceAttribute.jobName]: input.jobName,
        [TraceAttribute.attempt]: input.attempt,
        ...(jobIndex === undefined ? {} : { [TraceAttribute.jobIndex]: jobIndex }),
        'cloud.provider': 'gcp',
        'cloud.platform': 'gcp_cloud_run',
        ...(env.executionName === null ? {} : { 'gcp.cloud_run.job.execution': env.executionName }),
        ...(env.taskIndex === null ? {} : { 'gcp.cloud_run.job.task_index': env.taskIndex }),
      },
    },
    parent,
  );
  running.push(span);
  return {
    span,
    context: trace.setSpan(parent, span),
    traceparent: formatTraceparent(span.spanContext()),
    fail: (error) => recordSpanError(span, error),
    end: (status) => {
      span.setAttribute(TraceAttribute.status, status);
      span.end();
      const at = running.lastIndexOf(span);
      if (at >= 0) running.splice(at, 1);
    },
  };
}
