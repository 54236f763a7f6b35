import { metrics, ProxyTracerProvider, trace } from '@opentelemetry/api';

import { DEFAULTS } from '../defaults.js';

/** Options of {@link flushTelemetry}. */
export interface FlushTelemetryOptions {
  /** How long to wait for the exporters at most. @default DEFAULTS.telemetryFlushTimeoutMs */
  timeoutMs?: number;
  /** Told of a provider whose flush failed or did not finish in time (the flush never rejects). */
  onError?: (error: unknown) => void;
}

/** A provider with the SDK's `forceFlush()` (the API's own interfaces do not declare it). */
interface Flushable {
  forceFlush(): Promise<void>;
}

function flushable(provider: unknown): Flushable | undefined {
  const flush = (provider as Partial<Flushable> | null)?.forceFlush;
  return typeof flush === 'function' ? (provider as Flushable) : undefined;
}

/**
 * Exports what the global OpenTelemetry providers still buffer: calls `forceFlush()` of the global
 * MeterProvider and TracerProvider when they have one (the OpenTelemetry SDK's do; the API's no-op
 * ones do not, and then nothing happens). Waits at most `timeoutMs`; never rejects. A short-lived
 * process (a task) calls it before it exits, so its last points and spans are not lost.
 */
export async function flushTelemetry(options: FlushTelemetryOptions = {}): Promise<void> {
  const tracerProvider = trace.getTracerProvider();
  const providers = [
    metrics.getMeterProvider(),
    tracerProvider instanceof ProxyTracerProvider ? tracerProvider.getDelegate() : tracerProvider,
  ]
    .map(flushable)
    .filter((provider) => provider !== undefined);
  if (providers.length === 0) return;
  const timeoutMs = options.timeoutMs ?? DEFAULTS.telemetryFlushTimeoutMs;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
    timer.unref();
  });
  try {
    await Promise.all(
      providers.map(async (provider) => {
        try {
          const outcome = await Promise.race([provider.forceFlush(), timedOut]);
          if (outcome === 'timeout') {
            options.onError?.(new Error(`Telemetry was not flushed within ${timeoutMs} ms.`));
          }
        } catch (error) {
          options.onError?.(error);
        }
      }),
    );
  } finally {
    clearTimeout(timer);
  }
}
