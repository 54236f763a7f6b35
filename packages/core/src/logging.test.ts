import { Writable } from 'node:stream';

import { context, INVALID_SPAN_CONTEXT, type SpanContext, trace, TraceFlags } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { type CloudLoggingOptions, createLogger } from './logging.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';

/** A logger writing into an array of parsed lines (no I/O). */
function capture(name: string, options: CloudLoggingOptions = {}) {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean))
        lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger(name, { level: 'debug', ...options }, sink), lines };
}

function spanContext(traceFlags: number = TraceFlags.SAMPLED): SpanContext {
  return { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags };
}

describe('createLogger', () => {
  it('writes Cloud Logging structured JSON: severity, message, timestamp, insertId and the service', () => {
    const { logger, lines } = capture('e11-test', { version: '1.2.3' });
    logger.warn({ orchestrationId: 'o1' }, 'something to look at');
    expect(lines).toHaveLength(1);
    const [line] = lines;
    expect(line).toMatchObject({
      severity: 'WARNING',
      message: 'something to look at',
      orchestrationId: 'o1',
      serviceContext: { service: 'e11-test', version: '1.2.3' },
    });
    expect(line?.timestamp).toEqual({
      seconds: expect.any(Number) as unknown,
      nanos: expect.any(Number) as unknown,
    });
    expect(
      Math.abs(Number((line?.timestamp as { seconds: number }).seconds) - Date.now() / 1000),
    ).toBeLessThan(60);
    expect(line?.['logging.googleapis.com/insertId']).toEqual(expect.any(String));
    expect(line).not.toHaveProperty('time');
    expect(line).not.toHaveProperty('msg');
  });

  it('maps every pino level to its Cloud Logging severity', () => {
    const { logger, lines } = capture('e11-test');
    logger.debug('d');
    logger.info('i');
    logger.warn('w');
    logger.error('e');
    logger.fatal('f');
    expect(lines.map((line) => line.severity)).toEqual(['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL']);
  });

  it('takes the service name from `service` over the logger name', () => {
    const { logger, lines } = capture('e11-test', { service: 'billing-worker' });
    logger.info('hello');
    expect(lines[0]?.serviceContext).toEqual({ service: 'billing-worker' });
  });

  it('logs an Error under `err` with a stack_trace that Error Reporting groups: its message line, then the frames', () => {
    const { logger, lines } = capture('e11-test');
    const error = new Error('the upstream said no');
    logger.error({ err: error }, 'Sending failed');
    const [line] = lines;
    expect(line).toMatchObject({
      severity: 'ERROR',
      message: 'Sending failed',
      serviceContext: { service: 'e11-test' },
      err: { type: 'Error', message: 'the upstream said no' },
    });
    const stack = String(line?.stack_trace);
    expect(stack.startsWith('Error: the upstream said no\n    at ')).toBe(true);
    expect(stack).toContain('logging.test.ts');
  });

  it('adds no stack_trace for a line without an Error', () => {
    const { logger, lines } = capture('e11-test');
    logger.error({ err: 'just a string' }, 'no error object');
    expect(lines[0]).not.toHaveProperty('stack_trace');
    expect(lines[0]?.err).toBe('just a string');
  });

  it('links a line to the trace of the `traceContext` span: project trace path, span id, sampled flag', () => {
    const { logger, lines } = capture('e11-test', {
      projectId: 'acme-prod',
      traceContext: () => spanContext(),
    });
    logger.info('inside the attempt');
    expect(lines[0]).toMatchObject({
      'logging.googleapis.com/trace': `projects/acme-prod/traces/${TRACE_ID}`,
      'logging.googleapis.com/spanId': SPAN_ID,
      'logging.googleapis.com/trace_sampled': true,
    });
    expect(lines[0]).not.toHaveProperty('trace_id');
    expect(lines[0]).not.toHaveProperty('trace_flags');
  });

  it('takes the trace project from GOOGLE_CLOUD_PROJECT, on the very first line (nothing is detected later)', () => {
    vi.stubEnv('GOOGLE_CLOUD_PROJECT', 'env-project');
    try {
      const { logger, lines } = capture('e11-test', { traceContext: () => spanContext() });
      logger.info('first line');
      expect(lines[0]).toMatchObject({
        'logging.googleapis.com/trace': `projects/env-project/traces/${TRACE_ID}`,
        serviceContext: { service: 'e11-test' },
      });
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('marks an unsampled span as not sampled, and writes the bare trace id when the project is unknown', () => {
    const { logger, lines } = capture('e11-test', {
      projectId: '',
      traceContext: () => spanContext(TraceFlags.NONE),
    });
    logger.info('unsampled');
    expect(lines[0]).toMatchObject({
      'logging.googleapis.com/trace': TRACE_ID,
      'logging.googleapis.com/spanId': SPAN_ID,
    });
    expect(lines[0]).not.toHaveProperty('logging.googleapis.com/trace_sampled');
  });

  it('writes no trace fields outside a span, nor for an invalid span context', () => {
    const { logger, lines } = capture('e11-test', {
      projectId: 'acme-prod',
      traceContext: () => INVALID_SPAN_CONTEXT,
    });
    logger.info('no span');
    expect(Object.keys(lines[0] ?? {}).filter((key) => /trace|span/i.test(key))).toEqual([]);
  });

  it('keeps a mixin given in the options next to the trace fields', () => {
    const { logger, lines } = capture('e11-test', {
      projectId: 'acme-prod',
      traceContext: () => spanContext(),
      mixin: () => ({ 'logging.googleapis.com/labels': { tenant: 'acme' } }),
    });
    logger.info('mixed');
    expect(lines[0]).toMatchObject({
      'logging.googleapis.com/labels': { tenant: 'acme' },
      'logging.googleapis.com/spanId': SPAN_ID,
    });
  });
});

describe('createLogger with an OpenTelemetry context manager', () => {
  const manager = new AsyncLocalStorageContextManager();
  beforeAll(() => void context.setGlobalContextManager(manager.enable()));
  afterAll(() => context.disable());

  it('links a line to the active span, which wins over `traceContext`', async () => {
    const other = { ...spanContext(), spanId: '1111111111111111' };
    const { logger, lines } = capture('e11-test', { projectId: 'acme-prod', traceContext: () => other });
    const active = trace.wrapSpanContext(spanContext());
    await context.with(trace.setSpan(context.active(), active), async () => {
      await Promise.resolve();
      logger.info('in the active span');
    });
    logger.info('after it');
    expect(lines[0]).toMatchObject({
      'logging.googleapis.com/trace': `projects/acme-prod/traces/${TRACE_ID}`,
      'logging.googleapis.com/spanId': SPAN_ID,
    });
    expect(lines[1]?.['logging.googleapis.com/spanId']).toBe('1111111111111111');
  });
});
