// Trace context across E11's processes: the W3C `traceparent` written on documents, set in a task's
// env and on the JobCompletedEvent, and the span helpers every package uses. Only `@opentelemetry/api`
// is imported: with no SDK registered every span is a non-recording no-op and nothing is stored.
import {
  type Attributes,
  type Context,
  context,
  createTraceState,
  isSpanContextValid,
  type Link,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  type SpanKind,
  SpanStatusCode,
  trace,
  type Tracer,
} from '@opentelemetry/api';

/** Tracer scope names: the package that makes the span. */
export const TracerScope = {
  core: '@e11/core',
  sdk: '@e11/sdk',
  runner: '@e11/runner',
  functions: '@e11/functions',
} as const;

/** The attributes E11's spans carry (with the OpenTelemetry semantic conventions' own names). */
export const TraceAttribute = {
  orchestrationId: 'e11.orchestration.id',
  jobName: 'e11.job.name',
  jobId: 'e11.job.id',
  jobIndex: 'e11.job.index',
  attempt: 'e11.attempt',
  status: 'e11.status',
  executionName: 'e11.execution.name',
  tenant: 'e11.tenant',
  jobCount: 'e11.job.count',
} as const;

/** A W3C trace context as text: what travels in a task's env, on documents and on messages. */
export interface TraceCarrier {
  traceparent: string;
  tracestate?: string;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/**
 * The W3C `traceparent` of a span context (`00-{traceId}-{spanId}-{flags}`), or null for an invalid
 * one (what a span is when no OpenTelemetry SDK is registered).
 */
export function formatTraceparent(spanContext: SpanContext | undefined): string | null {
  if (spanContext === undefined || !isSpanContextValid(spanContext)) return null;
  const flags = (spanContext.traceFlags & 0xff).toString(16).padStart(2, '0');
  return `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`;
}

/**
 * Parses a W3C `traceparent` (and optional `tracestate`) into a remote span context; undefined when
 * it is absent or malformed (version `ff`, a version-00 value with extra fields, all-zero ids), which a
 * receiver ignores, as the W3C recommendation says.
 */
export function parseTraceparent(
  traceparent: string | null | undefined,
  tracestate?: string | null,
): SpanContext | undefined {
  if (typeof traceparent !== 'string') return undefined;
  const match = TRACEPARENT.exec(traceparent.trim());
  if (!match) return undefined;
  const [, version, traceId, spanId, flags, rest] = match as unknown as [
    string,
    string,
    string,
    string,
    string,
    string | undefined,
  ];
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  const spanContext: SpanContext = {
    traceId,
    spanId,
    traceFlags: Number.parseInt(flags, 16) & 0xff,
    isRemote: true,
  };
  if (!isSpanContextValid(spanContext)) return undefined;
  if (tracestate) spanContext.traceState = createTraceState(tracestate);
  return spanContext;
}

/** The trace id of a `traceparent`, or null when there is none (or it is malformed). */
export function traceIdOf(traceparent: string | null | undefined): string | null {
  return parseTraceparent(traceparent)?.traceId ?? null;
}

/** The carrier of a span context: its `traceparent`, plus `tracestate` when it has one; null when invalid. */
export function traceCarrierOf(spanContext: SpanContext | undefined): TraceCarrier | null {
  const traceparent = formatTraceparent(spanContext);
  if (traceparent === null) return null;
  const tracestate = spanContext?.traceState?.serialize();
  return tracestate ? { traceparent, tracestate } : { traceparent };
}

/**
 * A context whose parent is the remote span of `traceparent` (on top of `base`); `base` itself when
 * the value is absent or malformed.
 */
export function contextFromTraceparent(
  traceparent: string | null | undefined,
  tracestate?: string | null,
  base: Context = ROOT_CONTEXT,
): Context {
  const spanContext = parseTraceparent(traceparent, tracestate);
  return spanContext === undefined ? base : trace.setSpanContext(base, spanContext);
}

/** A link to the span of `traceparent`, or undefined when there is none. */
export function linkTo(traceparent: string | null | undefined, attributes?: Attributes): Link | undefined {
  const spanContext = parseTraceparent(traceparent);
  if (spanContext === undefined) return undefined;
  return attributes === undefined ? { context: spanContext } : { context: spanContext, attributes };
}

/** Whether `ctx` holds a span (a local or a remote parent). */
export function hasSpan(ctx: Context): boolean {
  return trace.getSpanContext(ctx) !== undefined;
}

/** The tracer of an E11 package (the global tracer provider's; a no-op one without an SDK). */
export function e11Tracer(scope: (typeof TracerScope)[keyof typeof TracerScope]): Tracer {
  return trace.getTracer(scope);
}

/** What {@link inSpan} starts. */
export interface SpanStart {
  kind?: SpanKind;
  attributes?: Attributes;
  links?: Link[];
  /** The parent context. @default the active context */
  parent?: Context;
}

/**
 * Runs `fn` in a new span, the span active in `fn` (with a context manager registered, its awaits too;
 * `fn` also gets the context to pass on explicitly). A rejection sets status ERROR and records the
 * exception; the span ends when `fn` settles.
 */
export async function inSpan<T>(
  tracer: Tracer,
  name: string,
  start: SpanStart,
  fn: (span: Span, ctx: Context) => Promise<T>,
): Promise<T> {
  const parent = start.parent ?? context.active();
  const span = tracer.startSpan(
    name,
    {
      ...(start.kind === undefined ? {} : { kind: start.kind }),
      ...(start.attributes === undefined ? {} : { attributes: start.attributes }),
      ...(start.links === undefined || start.links.length === 0 ? {} : { links: start.links }),
    },
    parent,
  );
  const ctx = trace.setSpan(parent, span);
  try {
    return await context.with(ctx, () => fn(span, ctx));
  } catch (error) {
    recordSpanError(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/** Marks a span failed: status ERROR with the error's message, and the exception as an event. */
export function recordSpanError(span: Span, error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  span.recordException(error instanceof Error ? error : message);
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}
