import { flushTelemetry, MetricName, recordJobStarted } from '@e11/core';
import { metrics, trace } from '@opentelemetry/api';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type PushMetricExporter,
} from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, InMemorySpanExporter, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterEach, describe, expect, it } from 'vitest';

const HOUR_MS = 3_600_000;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** A global MeterProvider that exports every hour only: nothing leaves it unless it is flushed. */
function hourlyMeterProvider(exporter: PushMetricExporter): void {
  const provider = new MeterProvider({
    readers: [new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: HOUR_MS })],
  });
  metrics.setGlobalMeterProvider(provider);
  cleanups.push(async () => {
    metrics.disable();
    // A shutdown flushes too: bounded, for the exporter that never answers.
    await provider.shutdown({ timeoutMillis: 1_000 }).catch(() => undefined);
  });
}

describe('flushTelemetry', () => {
  it('exports the buffered points of the global MeterProvider and spans of the global TracerProvider', async () => {
    const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    hourlyMeterProvider(metricExporter);
    const spanExporter = new InMemorySpanExporter();
    const tracerProvider = new TracerProvider({
      spanProcessors: [new BatchSpanProcessor({ exporter: spanExporter, scheduledDelayMillis: HOUR_MS })],
    });
    trace.setGlobalTracerProvider(tracerProvider);
    cleanups.push(async () => {
      trace.disable();
      await tracerProvider.shutdown();
    });

    recordJobStarted('@e11/runner', { jobName: 'short_task' });
    trace.getTracer('test').startSpan('attempt').end();
    expect(metricExporter.getMetrics()).toEqual([]);
    expect(spanExporter.getFinishedSpans()).toEqual([]);

    const errors: unknown[] = [];
    await flushTelemetry({ onError: (error) => errors.push(error) });

    expect(errors).toEqual([]);
    const exported = metricExporter
      .getMetrics()
      .flatMap((resource) => resource.scopeMetrics.flatMap((scope) => scope.metrics));
    expect(exported.map((metric) => metric.descriptor.name)).toContain(MetricName.jobsStarted);
    expect(spanExporter.getFinishedSpans().map((span) => span.name)).toEqual(['attempt']);
  });

  it('does nothing and resolves at once without an SDK provider', async () => {
    const started = performance.now();
    await expect(flushTelemetry({ timeoutMs: 5_000 })).resolves.toBeUndefined();
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('stops waiting after timeoutMs for an exporter that never answers, and says so', async () => {
    // An exporter whose backend never answers (an unreachable collector): its export never calls back.
    const silent: PushMetricExporter = {
      export: () => undefined,
      forceFlush: () => new Promise<void>(() => undefined),
      shutdown: () => Promise.resolve(),
    };
    hourlyMeterProvider(silent);
    recordJobStarted('@e11/runner', { jobName: 'short_task' });
    const errors: unknown[] = [];
    const started = performance.now();
    await flushTelemetry({ timeoutMs: 300, onError: (error) => errors.push(error) });
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(5_000);
    expect(errors).toEqual([new Error('Telemetry was not flushed within 300 ms.')]);
  });
});
