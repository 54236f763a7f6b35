import { Timestamp } from '@google-cloud/firestore';
import { describe, expect, it } from 'vitest';

import type { JobDoc } from '../model/documents.js';
import { jobDocSchema } from '../model/documents.js';

import { REDACTED, redactJob, redactParams } from './redact.js';

describe('redactParams', () => {
  it('replaces sensitive keys at any depth and leaves the rest', () => {
    const params = { user: 'ann', token: 's3cr3t', nested: { token: 'x', list: [{ token: 'y', ok: 1 }] } };
    expect(redactParams(params, ['token'])).toEqual({
      user: 'ann',
      token: '[REDACTED]',
      nested: { token: '[REDACTED]', list: [{ token: '[REDACTED]', ok: 1 }] },
    });
    expect(params.token).toBe('s3cr3t');
  });

  it('returns params unchanged when nothing is sensitive', () => {
    const params = { a: 1 };
    expect(redactParams(params, [])).toBe(params);
  });
});

describe('redactJob', () => {
  const at = Timestamp.fromMillis(0);
  const job: JobDoc = jobDocSchema.parse({
    id: 'j',
    orchestrationId: 'o',
    jobName: 'charge',
    index: 0,
    shard: 0,
    params: { card: '4111222233334444', cvv: '123', holder: 'ann' },
    status: 'Errored',
    result: { card: '4111222233334444', echo: 'card 4111222233334444' },
    checkpoint: { cvv: '123', step: 2 },
    error: {
      message: 'card 4111222233334444 cvv 123 declined',
      code: 'E11_JOB_FAILED',
      name: 'Error',
      stack: 'Error: card 4111222233334444 cvv 123 declined\n    at run',
      jobName: 'charge',
      orchestrationId: 'o',
      jobId: 'j',
      attempt: 1,
      retryable: false,
    },
    progress: { ratio: 0.5, message: 'cvv 123 ok', at },
    attempts: [
      {
        attempt: 1,
        epoch: 1,
        startedAt: at,
        finishedAt: at,
        outcome: 'Errored',
        error: { message: 'cvv 123', code: 'E11_JOB_FAILED' },
        executionName: null,
      },
    ],
    createdAt: at,
    updatedAt: at,
  });

  it('redacts params, result and checkpoint by key and every text of the job by value', () => {
    const redacted = redactJob(job, ['card', 'cvv']);
    expect(redacted.params).toEqual({ card: REDACTED, cvv: REDACTED, holder: 'ann' });
    expect(redacted.result).toEqual({ card: REDACTED, echo: `card ${REDACTED}` });
    expect(redacted.checkpoint).toEqual({ cvv: REDACTED, step: 2 });
    expect(redacted.error?.message).toBe(`card ${REDACTED} cvv ${REDACTED} declined`);
    expect(redacted.error?.stack).not.toMatch(/4111|\b123\b/);
    expect(redacted.progress?.message).toBe(`cvv ${REDACTED} ok`);
    expect(redacted.attempts[0]?.error?.message).toBe(`cvv ${REDACTED}`);
    expect(job.params).toMatchObject({ card: '4111222233334444' });
  });

  it('returns the document itself when nothing is sensitive', () => {
    expect(redactJob(job, [])).toBe(job);
  });
});
