import { createRedactor } from '@e11/core';
import { INVALID_SPAN_CONTEXT, trace, TraceFlags } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';

import { createRunnerLogger, type RunnerLoggerOptions } from './logger.js';

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const SPAN_ID = 'b7ad6b7169203331';
const ENV = { JOB_NAME: 'charge_card', GOOGLE_CLOUD_PROJECT: 'acme-prod' };

/** A runner logger writing into an array of raw lines (no I/O). */
function capture(options: RunnerLoggerOptions = {}) {
  const raw: string[] = [];
  const log = createRunnerLogger({ env: ENV, write: (line) => raw.push(line), ...options });
  return { log, raw, lines: () => raw.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

describe('createRunnerLogger', () => {
  it('labels every line with the orchestration, job, job name and attempt, and names the job as the service', () => {
    const { log, lines } = capture();
    log.logger.info('before the labels');
    log.setLabels({ orchestrationId: 'o1', jobName: 'charge_card' });
    log.setLabels({ jobId: 'j1', attempt: '2' });
    log.logger.info({ rows: 10 }, 'after the labels');
    const [before, after] = lines();
    expect(before).not.toHaveProperty('logging.googleapis.com/labels');
    expect(after).toMatchObject({
      severity: 'INFO',
      message: 'after the labels',
      rows: 10,
      serviceContext: { service: 'charge_card' },
      'logging.googleapis.com/labels': {
        orchestrationId: 'o1',
        jobId: 'j1',
        jobName: 'charge_card',
        attempt: '2',
      },
    });
  });

  it("uses 'e11-runner' as the service when the env names no job", () => {
    const { log, lines } = capture({ env: {} });
    log.logger.error('JOB_NAME is not set');
    expect(lines()[0]?.serviceContext).toEqual({ service: 'e11-runner' });
  });

  it('redacts a sensitive value from the message, the error and its stack_trace', () => {
    const secret = 'sk-live-4242-very-secret';
    const { log, raw, lines } = capture();
    log.setRedactor(createRedactor({ apiKey: secret }, ['apiKey']));
    const error = new Error(`the upstream rejected key ${secret}`);
    log.logger.error({ err: error }, `Attempt 1 failed: ${error.message}`);
    expect(raw.join('')).not.toContain(secret);
    const [line] = lines();
    expect(line).toMatchObject({
      severity: 'ERROR',
      message: 'Attempt 1 failed: the upstream rejected key [REDACTED]',
      serviceContext: { service: 'charge_card' },
    });
    expect(String(line?.stack_trace)).toMatch(/^Error: the upstream rejected key \[REDACTED\]\n {4}at /);
  });

  it('links lines to the span the traceContext hook returns', () => {
    let current = trace.wrapSpanContext({
      traceId: TRACE_ID,
      spanId: SPAN_ID,
      traceFlags: TraceFlags.SAMPLED,
    });
    const { log, lines } = capture({ traceContext: () => current.spanContext() });
    log.logger.info('in the attempt span');
    current = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
    log.logger.info('outside any span');
    const [inside, outside] = lines();
    expect(inside).toMatchObject({
      'logging.googleapis.com/trace': `projects/acme-prod/traces/${TRACE_ID}`,
      'logging.googleapis.com/spanId': SPAN_ID,
      'logging.googleapis.com/trace_sampled': true,
    });
    expect(outside).not.toHaveProperty('logging.googleapis.com/trace');
  });
});
