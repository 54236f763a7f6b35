import { E11Error } from '@e11/core';
import { describe, expect, it } from 'vitest';

import { PermanentError, TransientError } from './errors.js';
import { defaultRetryOn, resolvePolicy, retryDelayMs, shouldRetry } from './retry-policy.js';

const noOverrides = {
  maxAttempts: null,
  initialBackoffMs: null,
  maxBackoffMs: null,
  jobTimeoutMs: null,
  taskTimeoutMs: null,
  orchestrationTimeoutMs: null,
  heartbeatTimeoutMs: 60_000,
};

describe('retry policy', () => {
  it('lets kick-off overrides win over the job class options, and those over the defaults', () => {
    expect(resolvePolicy(noOverrides, {}).maxAttempts).toBe(3);
    expect(resolvePolicy(noOverrides, { maxAttempts: 5, timeout: '2m' })).toMatchObject({
      maxAttempts: 5,
      timeoutMs: 120_000,
    });
    expect(
      resolvePolicy({ ...noOverrides, maxAttempts: 1, jobTimeoutMs: 500 }, { maxAttempts: 5, timeout: '2m' }),
    ).toMatchObject({
      maxAttempts: 1,
      timeoutMs: 500,
    });
  });

  it('retries transient errors and timeouts by default, never permanent ones or plain errors', () => {
    expect(defaultRetryOn(new TransientError('busy'))).toBe(true);
    expect(defaultRetryOn(new E11Error('E11_TIMEOUT', 'slow', { retryable: true }))).toBe(true);
    expect(defaultRetryOn(new Error('boom'))).toBe(false);
    const policy = resolvePolicy(noOverrides, { retryOn: () => true });
    expect(shouldRetry(policy, new Error('boom'), 1, 1)).toBe(true);
    expect(shouldRetry(policy, new PermanentError('bad'), 1, 1)).toBe(false);
    expect(shouldRetry(policy, new E11Error('E11_VALIDATION_FAILED', 'bad'), 1, 1)).toBe(false);
  });

  it('stops retrying when the attempts of the epoch are used up', () => {
    const policy = resolvePolicy(noOverrides, { maxAttempts: 2 });
    expect(shouldRetry(policy, new TransientError('x'), 1, 1)).toBe(true);
    expect(shouldRetry(policy, new TransientError('x'), 2, 2)).toBe(false);
  });

  it('backs off exponentially up to the maximum, with full jitter', () => {
    const policy = {
      ...resolvePolicy(noOverrides, { backoff: { initialMs: 100, maxMs: 1_000, jitter: false } }),
    };
    expect([1, 2, 3, 4, 5].map((retry) => retryDelayMs(policy, retry))).toEqual([100, 200, 400, 800, 1_000]);
    const jittered = resolvePolicy(noOverrides, { backoff: { initialMs: 100, maxMs: 1_000 } });
    expect(retryDelayMs(jittered, 3, () => 0.5)).toBe(200);
    expect(retryDelayMs(jittered, 3, () => 0)).toBe(0);
  });
});
