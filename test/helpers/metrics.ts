import { type Attributes, metrics } from '@opentelemetry/api';
import {
  type DataPoint,
  type Histogram,
  MeterProvider,
  type MetricDescriptor,
  MetricReader,
} from '@opentelemetry/sdk-metrics';

/** A reader the test collects from when it wants (cumulative: every point since registration). */
class CollectingReader extends MetricReader {
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** One collected data point of a metric, with its descriptor and the meter scope that recorded it. */
export interface CollectedPoint<V> {
  scope: string;
  descriptor: MetricDescriptor;
  attributes: Attributes;
  value: V;
}

/** The global MeterProvider of a test process (the OpenTelemetry SDK's), and what it collected. */
export interface MetricsHarness {
  readonly provider: MeterProvider;
  /** Every point of the metric `name` collected so far. */
  points<V = number | Histogram>(name: string): Promise<CollectedPoint<V>[]>;
  /** The counter `name`'s points whose attributes include `attributes`, added up. */
  sum(name: string, attributes: Attributes): Promise<number>;
  /** The histogram point of `name` with exactly these attributes (undefined when none was recorded). */
  histogram(name: string, attributes: Attributes): Promise<CollectedPoint<Histogram> | undefined>;
  /** Shuts the provider down and unregisters it. */
  close(): Promise<void>;
}

function includes(actual: Attributes, expected: Attributes): boolean {
  return Object.entries(expected).every(([key, value]) => actual[key] === value);
}

/**
 * Registers a real MeterProvider (from @opentelemetry/sdk-metrics) as the process's global provider,
 * as an application's OpenTelemetry setup does, with a reader the test collects from.
 */
export function registerMeterProvider(): MetricsHarness {
  const reader = new CollectingReader();
  const provider = new MeterProvider({ readers: [reader] });
  if (!metrics.setGlobalMeterProvider(provider)) throw new Error('a global MeterProvider is already set');
  const points = async <V>(name: string): Promise<CollectedPoint<V>[]> => {
    const { resourceMetrics, errors } = await reader.collect();
    if (errors.length > 0) throw new AggregateError(errors, 'metric collection failed');
    return resourceMetrics.scopeMetrics.flatMap((scope) =>
      scope.metrics
        .filter((metric) => metric.descriptor.name === name)
        .flatMap((metric) =>
          (metric.dataPoints as DataPoint<V>[]).map((point) => ({
            scope: scope.scope.name,
            descriptor: metric.descriptor,
            attributes: point.attributes,
            value: point.value,
          })),
        ),
    );
  };
  return {
    provider,
    points,
    async sum(name, attributes) {
      const found = await points<number>(name);
      return found.filter((p) => includes(p.attributes, attributes)).reduce((s, p) => s + p.value, 0);
    },
    async histogram(name, attributes) {
      const found = await points<Histogram>(name);
      return found.find(
        (p) =>
          includes(p.attributes, attributes) &&
          Object.keys(p.attributes).length === Object.keys(attributes).length,
      );
    },
    async close() {
      await provider.shutdown();
      metrics.disable();
    },
  };
}
