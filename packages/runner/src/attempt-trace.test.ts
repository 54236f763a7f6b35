import { parseTaskEnv } from '@e11/core';
import { context, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { activeSpanContext, startAttemptSpan } from './attempt-trace.js';

const LAUNCH = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const exporter = new InMemorySpanExporter();

beforeAll(() => {
  // An SDK without a context manager: `context.active()` stays empty.
  trace.setGlobalTracerProvider(
    new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }),
  );
});

afterAll(() => {
  trace.disable();
});

const env = parseTaskEnv({
  JOB_NAME: 'sum_sales',
  ORCHESTRATION_ID: 'o1',
  JOB_ID: 'j1',
  E11_JOB_INDEX: '3',
  CLOUD_RUN_EXECUTION: 'sum-sales-abcde',
  CLOUD_RUN_TASK_INDEX: '0',
  TRACEPARENT: LAUNCH,
});

describe('the attempt span', () => {
  it("is a child of the launch's TRACEPARENT with the job's attributes, and its traceparent is stored", () => {
    const attempt = startAttemptSpan({
      env,
      orchestrationId: 'o1',
      jobId: 'j1',
      jobName: 'sum_sales',
      attempt: 2,
    });
    const { traceId, spanId } = attempt.span.spanContext();
    expect(traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(attempt.traceparent).toBe(`00-${traceId}-${spanId}-01`);
    attempt.end('Completed');
    const [span] = exporter.getFinishedSpans();
    expect(span?.name).toBe('e11.attempt sum_sales');
    expect(span?.parentSpanContext?.spanId).toBe('00f067aa0ba902b7');
    expect(span?.attributes).toMatchObject({
      'e11.orchestration.id': 'o1',
      'e11.job.id': 'j1',
      'e11.job.index': 3,
      'e11.attempt': 2,
      'e11.status': 'Completed',
      'gcp.cloud_run.job.execution': 'sum-sales-abcde',
    });
  });

  it('is what activeSpanContext() returns while it runs, even without a context manager', () => {
    expect(activeSpanContext()).toBeUndefined();
    const attempt = startAttemptSpan({
      env,
      orchestrationId: 'o1',
      jobId: 'j1',
      jobName: 'sum_sales',
      attempt: 1,
    });
    expect(trace.getSpanContext(context.active())).toBeUndefined();
    expect(activeSpanContext()?.spanId).toBe(attempt.span.spanContext().spanId);
    attempt.end('Completed');
    expect(activeSpanContext()).toBeUndefined();
  });
});
