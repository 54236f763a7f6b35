import { type SpanContext, TraceFlags } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';

import { isE11Error } from '../errors.js';
import { buildTaskEnv, parseTaskEnv } from '../task/task-contract.js';
import { validateTags } from '../validate/tags.js';

import { formatTraceparent, parseTraceparent, traceCarrierOf, traceIdOf } from './trace-context.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';
const sampled: SpanContext = { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: TraceFlags.SAMPLED };

describe('formatTraceparent', () => {
  it('writes version 00, the ids and the flags as two hex digits', () => {
    expect(formatTraceparent(sampled)).toBe(`00-${TRACE_ID}-${SPAN_ID}-01`);
    expect(formatTraceparent({ ...sampled, traceFlags: TraceFlags.NONE })).toBe(
      `00-${TRACE_ID}-${SPAN_ID}-00`,
    );
  });

  it('gives null for an invalid span context (what a span is without an SDK) or none', () => {
    expect(formatTraceparent({ traceId: '0'.repeat(32), spanId: '0'.repeat(16), traceFlags: 0 })).toBeNull();
    expect(formatTraceparent(undefined)).toBeNull();
  });
});

describe('parseTraceparent', () => {
  it('reads a W3C traceparent into a remote span context, with its tracestate', () => {
    const parsed = parseTraceparent(`00-${TRACE_ID}-${SPAN_ID}-01`, 'vendor=value,other=1');
    expect(parsed).toMatchObject({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 1, isRemote: true });
    expect(parsed?.traceState?.get('vendor')).toBe('value');
    expect(formatTraceparent(parsed)).toBe(`00-${TRACE_ID}-${SPAN_ID}-01`);
  });

  it('accepts a future version with extra fields', () => {
    expect(parseTraceparent(`01-${TRACE_ID}-${SPAN_ID}-01-extra`)?.traceId).toBe(TRACE_ID);
  });

  it.each([
    ['absent', undefined],
    ['empty', ''],
    ['version ff', `ff-${TRACE_ID}-${SPAN_ID}-01`],
    ['version 00 with extra fields', `00-${TRACE_ID}-${SPAN_ID}-01-extra`],
    ['an all-zero trace id', `00-${'0'.repeat(32)}-${SPAN_ID}-01`],
    ['an all-zero span id', `00-${TRACE_ID}-${'0'.repeat(16)}-01`],
    ['upper-case hex', `00-${TRACE_ID.toUpperCase()}-${SPAN_ID}-01`],
    ['a short trace id', `00-${TRACE_ID.slice(1)}-${SPAN_ID}-01`],
  ])('ignores %s', (_, value) => {
    expect(parseTraceparent(value)).toBeUndefined();
    expect(traceIdOf(value)).toBeNull();
  });
});

describe('the trace context in the task env', () => {
  const base = { JOB_NAME: 'a', ORCHESTRATION_ID: 'o', JOB_ID: 'j' };

  it('travels as TRACEPARENT and TRACESTATE and is read back by parseTaskEnv', () => {
    const trace = traceCarrierOf(parseTraceparent(`00-${TRACE_ID}-${SPAN_ID}-01`, 'vendor=value'));
    const env = buildTaskEnv({ jobName: 'a', orchestrationId: 'o', job: { id: 'j', index: 0 }, trace });
    expect(env).toMatchObject({ TRACEPARENT: `00-${TRACE_ID}-${SPAN_ID}-01`, TRACESTATE: 'vendor=value' });
    expect(parseTaskEnv(env).trace).toEqual({
      traceparent: `00-${TRACE_ID}-${SPAN_ID}-01`,
      tracestate: 'vendor=value',
    });
  });

  it('is absent without a trace, and a malformed one does not refuse the task', () => {
    const env = buildTaskEnv({ jobName: 'a', orchestrationId: 'o', job: { id: 'j', index: 0 }, trace: null });
    expect(env).not.toHaveProperty('TRACEPARENT');
    expect(parseTaskEnv(base).trace).toBeNull();
    expect(parseTaskEnv({ ...base, TRACEPARENT: 'garbage' }).trace).toEqual({ traceparent: 'garbage' });
    expect(parseTraceparent('garbage')).toBeUndefined();
  });
});

describe('the traceparent event attribute', () => {
  it('is reserved: a tag of that name is refused with E11_INVALID_OPTIONS', () => {
    let error: unknown;
    try {
      validateTags({ traceparent: `00-${TRACE_ID}-${SPAN_ID}-01` });
    } catch (caught) {
      error = caught;
    }
    expect(isE11Error(error, 'E11_INVALID_OPTIONS')).toBe(true);
    expect((error as Error).message).toContain('reserved');
  });
});
