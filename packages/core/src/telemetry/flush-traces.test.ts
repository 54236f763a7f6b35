import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BatchSpanProcessor, InMemorySpanExporter, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterAll, describe, expect, it } from 'vitest';

import { flushTelemetry } from './flush.js';
import { formatTraceparent, inSpan } from './trace-context.js';

afterAll(() => {
  trace.disable();
  context.disable();
});

describe('without an OpenTelemetry SDK', () => {
  it('runs spans as no-ops: the work runs, no traceparent exists, flushing does nothing', async () => {
    const tracer = trace.getTracer('test');
    const result = await inSpan(tracer, 'work', {}, (span) => {
      expect(span.isRecording()).toBe(false);
      expect(formatTraceparent(span.spanContext())).toBeNull();
      return Promise.resolve(42);
    });
    expect(result).toBe(42);
    await expect(flushTelemetry()).resolves.toBeUndefined();
  });
});

describe('with an SDK registered', () => {
  it('flushTelemetry exports the spans a batching processor still holds', async () => {
    const exporter = new InMemorySpanExporter();
    // A long delay: nothing is exported unless flushed.
    const processor = new BatchSpanProcessor({ exporter, scheduledDelayMillis: 60_000 });
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    trace.setGlobalTracerProvider(new TracerProvider({ spanProcessors: [processor] }));
    await inSpan(trace.getTracer('test'), 'outer', {}, () =>
      inSpan(trace.getTracer('test'), 'inner', {}, () => Promise.resolve()),
    );
    expect(exporter.getFinishedSpans()).toEqual([]);
    await flushTelemetry();
    const spans = exporter.getFinishedSpans();
    expect(spans.map((span) => span.name).sort()).toEqual(['inner', 'outer']);
    const outer = spans.find((span) => span.name === 'outer');
    expect(spans.find((span) => span.name === 'inner')?.parentSpanContext?.spanId).toBe(
      outer?.spanContext().spanId,
    );
  });

  it('inSpan marks a rejected span ERROR with the exception, and rethrows', async () => {
    const exporter = new InMemorySpanExporter();
    trace.disable();
    trace.setGlobalTracerProvider(
      new TracerProvider({
        spanProcessors: [new BatchSpanProcessor({ exporter, scheduledDelayMillis: 60_000 })],
      }),
    );
    await expect(
      inSpan(trace.getTracer('test'), 'fails', {}, () => Promise.reject(new Error('boom'))),
    ).rejects.toThrow('boom');
    await flushTelemetry();
    const [span] = exporter.getFinishedSpans();
    expect(span?.status).toEqual({ code: 2, message: 'boom' });
    expect(span?.events.map((event) => event.name)).toEqual(['exception']);
  });
});
