import { Timestamp } from '@google-cloud/firestore';
import { describe, expect, it } from 'vitest';

import { DEFAULTS } from '../defaults.js';
import type { AttemptRecord, JobDoc } from '../model/documents.js';

import { boundJobError, truncateUtf8 } from './bounded-text.js';
import { appendAttempt, attemptsInEpoch, closeAttempt } from './claim-job.js';

const at = Timestamp.fromMillis(0);
const record = (attempt: number, epoch: number): AttemptRecord => ({
  attempt,
  epoch,
  startedAt: at,
  finishedAt: null,
  outcome: null,
  error: null,
  executionName: null,
});

/** A job after `perEpoch[i]` attempts in epoch i + 1, each appended the way claims and retries do. */
function history(perEpoch: number[]): Pick<JobDoc, 'attempts' | 'attemptsDropped' | 'epoch'> {
  let job: Pick<JobDoc, 'attempts' | 'attemptsDropped' | 'epoch'> = {
    attempts: [],
    attemptsDropped: { count: 0, epoch: 1, inEpoch: 0 },
    epoch: 1,
  };
  let attempt = 0;
  perEpoch.forEach((count, index) => {
    job = { ...job, epoch: index + 1 };
    for (let i = 0; i < count; i++) {
      const next = appendAttempt(job, job.attempts, record(++attempt, index + 1));
      job = { ...job, attempts: next.attempts, attemptsDropped: next.attemptsDropped ?? job.attemptsDropped };
    }
  });
  return job;
}

describe('the attempt history', () => {
  it('keeps every record up to the cap and reports no drop', () => {
    const job = history([DEFAULTS.maxAttemptRecords]);
    expect(job.attempts).toHaveLength(DEFAULTS.maxAttemptRecords);
    expect(job.attemptsDropped.count).toBe(0);
    expect(attemptsInEpoch(job)).toBe(DEFAULTS.maxAttemptRecords);
  });

  it('keeps the first and the latest records past the cap, and still counts attempts per epoch exactly', () => {
    const job = history([30, 40, 7]);
    expect(job.attempts).toHaveLength(DEFAULTS.maxAttemptRecords);
    expect(job.attempts[0]).toMatchObject({ attempt: 1, epoch: 1 });
    expect(job.attempts.at(-1)).toMatchObject({ attempt: 77, epoch: 3 });
    expect(job.attemptsDropped.count + job.attempts.length).toBe(77);
    expect(attemptsInEpoch(job)).toBe(7);
    expect(attemptsInEpoch({ ...history([30, 40]) })).toBe(40);
    expect(attemptsInEpoch({ ...history([100]) })).toBe(100);
  });

  it('cuts an attempt record’s error to its byte budget', () => {
    const [closed] = closeAttempt([record(1, 1)], 'Errored', at, {
      message: '€'.repeat(1_000),
      code: 'C'.repeat(999),
    });
    expect(Buffer.byteLength(closed?.error?.message ?? '')).toBeLessThanOrEqual(
      DEFAULTS.maxAttemptErrorBytes,
    );
    expect(Buffer.byteLength(closed?.error?.code ?? '')).toBeLessThanOrEqual(DEFAULTS.maxErrorCodeBytes);
  });
});

describe('truncateUtf8', () => {
  it('leaves short text alone and cuts long text on a character boundary with an ellipsis', () => {
    expect(truncateUtf8('short', 10)).toBe('short');
    const cut = truncateUtf8('€'.repeat(100), 50);
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(50);
    expect(cut).toBe(`${'€'.repeat(15)}…`);
    expect(cut).not.toContain('\uFFFD');
  });

  it('bounds every text of a job error', () => {
    const error = boundJobError({
      message: 'm'.repeat(10_000),
      stack: 's'.repeat(20_000),
      code: 'c'.repeat(1_000),
      name: 'n'.repeat(1_000),
      jobName: 'job',
      orchestrationId: 'o',
      jobId: 'j',
      attempt: 1,
      retryable: false,
    });
    expect(Buffer.byteLength(error.message)).toBe(DEFAULTS.maxErrorMessageBytes);
    expect(Buffer.byteLength(error.stack ?? '')).toBe(DEFAULTS.maxErrorStackBytes);
    expect(Buffer.byteLength(error.code)).toBe(DEFAULTS.maxErrorCodeBytes);
    expect(Buffer.byteLength(error.name ?? '')).toBe(DEFAULTS.maxErrorCodeBytes);
  });
});
