// Trace collection for the local stack: every process the stack runs (tasks, functions) and the
// process that starts it register an OpenTelemetry SDK that appends finished spans as JSON lines to
// `<dir>/<pid>.jsonl`, as a user's own image would register an SDK with an exporter. E11's packages
// only talk to `@opentelemetry/api`; this module is the SDK side.
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  type ExportResult,
  ExportResultCode,
  hrTimeToMilliseconds,
  W3CTraceContextPropagator,
} from '@opentelemetry/core';
import {
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanExporter,
  TracerProvider,
} from '@opentelemetry/sdk-trace';

/** The variable that names the directory {@link registerTraceCollector} writes to (see the preload). */
export const TRACE_DIR_ENV = 'E11_TRACE_DIR';
/** The variable that names the process in its span lines (`service`). */
export const TRACE_SERVICE_ENV = 'E11_TRACE_SERVICE';

/** One finished span, as a line of `<dir>/<pid>.jsonl`. */
export interface CollectedSpan {
  traceId: string;
  spanId: string;
  /** Null for a root span. */
  parentSpanId: string | null;
  name: string;
  kind: 'internal' | 'server' | 'client' | 'producer' | 'consumer';
  /** The tracer's scope (`@e11/core`, `@e11/runner`, a user's own). */
  scope: string;
  startMs: number;
  durationMs: number;
  status: { code: 'unset' | 'ok' | 'error'; message?: string };
  attributes: Record<string, unknown>;
  /** Events (a recorded exception is one named `exception`). */
  events: { name: string; attributes: Record<string, unknown> }[];
  links: { traceId: string; spanId: string; attributes: Record<string, unknown> }[];
  /** The process that made the span, and its name (`E11_TRACE_SERVICE`, else `node`). */
  pid: number;
  service: string;
}

const KINDS: Record<SpanKind, CollectedSpan['kind']> = {
  [SpanKind.INTERNAL]: 'internal',
  [SpanKind.SERVER]: 'server',
  [SpanKind.CLIENT]: 'client',
  [SpanKind.PRODUCER]: 'producer',
  [SpanKind.CONSUMER]: 'consumer',
};

const STATUS: Record<SpanStatusCode, CollectedSpan['status']['code']> = {
  [SpanStatusCode.UNSET]: 'unset',
  [SpanStatusCode.OK]: 'ok',
  [SpanStatusCode.ERROR]: 'error',
};

/** A span as a JSON line. */
export function toCollectedSpan(span: ReadableSpan, service: string): CollectedSpan {
  const { traceId, spanId } = span.spanContext();
  return {
    traceId,
    spanId,
    parentSpanId: span.parentSpanContext?.spanId ?? null,
    name: span.name,
    kind: KINDS[span.kind],
    scope: span.instrumentationScope.name,
    startMs: hrTimeToMilliseconds(span.startTime),
    durationMs: hrTimeToMilliseconds(span.duration),
    status: {
      code: STATUS[span.status.code],
      ...(span.status.message ? { message: span.status.message } : {}),
    },
    attributes: { ...span.attributes },
    events: span.events.map((event) => ({ name: event.name, attributes: { ...event.attributes } })),
    links: span.links.map((link) => ({
      traceId: link.context.traceId,
      spanId: link.context.spanId,
      attributes: { ...link.attributes },
    })),
    pid: process.pid,
    service,
  };
}

/**
 * Appends each finished span as one JSON line to `<dir>/<pid>.jsonl`, synchronously: a task process
 * exits right after its job, and a span written before `end()` returns is never lost.
 */
export class JsonLinesSpanExporter implements SpanExporter {
  readonly file: string;

  constructor(
    dir: string,
    private readonly service: string,
  ) {
    mkdirSync(dir, { recursive: true });
    this.file = join(dir, `${process.pid}.jsonl`);
  }

  /** Appends the finished spans to this process's file, one JSON line each. */
  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    try {
      const lines = spans.map((span) => JSON.stringify(toCollectedSpan(span, this.service)) + '\n');
      appendFileSync(this.file, lines.join(''));
      resultCallback({ code: ExportResultCode.SUCCESS });
    } catch (error) {
      resultCallback({ code: ExportResultCode.FAILED, error: error as Error });
    }
  }

  /** Nothing to release: every line is written when its span is exported. */
  shutdown(): Promise<void> {
    return Promise.resolve();
  }

  /** Nothing to flush: every line is written when its span is exported. */
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

/** Options of {@link registerTraceCollector}. */
export interface TraceCollectorOptions {
  /** Where the span lines go (`<dir>/<pid>.jsonl`); created if missing. */
  dir: string;
  /** The process's name in its span lines. @default E11_TRACE_SERVICE, or `node` */
  service?: string;
}

/** A registered trace collector. */
export interface TraceCollector {
  readonly provider: TracerProvider;
  /** The file this process's spans are appended to. */
  readonly file: string;
}

let registered: TraceCollector | undefined;

/**
 * Registers an OpenTelemetry SDK in this process, globally: a tracer provider whose spans are written
 * at their end (SimpleSpanProcessor) by a {@link JsonLinesSpanExporter} to `dir`, the
 * AsyncLocalStorage context manager (spans nest across awaits) and the W3C trace-context propagator.
 * Registering again returns the first registration (the OpenTelemetry globals are set once).
 */
export function registerTraceCollector(options: TraceCollectorOptions): TraceCollector {
  if (registered) return registered;
  const service = options.service ?? (process.env[TRACE_SERVICE_ENV] || 'node');
  const exporter = new JsonLinesSpanExporter(options.dir, service);
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  registered = { provider, file: exporter.file };
  return registered;
}

/**
 * The environment that makes a Node process of the stack register the collector on start: NODE_OPTIONS
 * with `--import` of the preload (after any NODE_OPTIONS this process has), E11_TRACE_DIR and its name.
 */
export function traceCollectorEnv(dir: string, service: string): Record<string, string> {
  const preload = new URL('./preload.js', import.meta.url).href;
  const inherited = process.env.NODE_OPTIONS ?? '';
  return {
    NODE_OPTIONS: `${inherited} --import=${JSON.stringify(preload)}`.trim(),
    [TRACE_DIR_ENV]: dir,
    [TRACE_SERVICE_ENV]: service,
  };
}
