import { describe, expect, it } from 'vitest';

import { DEFAULTS } from '../defaults.js';
import { defaultJobPolicy } from '../model/documents.js';

import { resolveJobPolicy } from './resolve-policy.js';

describe('resolveJobPolicy', () => {
  it('fills every field from the kick-off, else the class, else DEFAULTS when the class is known', () => {
    expect(resolveJobPolicy(defaultJobPolicy(), {})).toEqual(
      defaultJobPolicy({
        maxAttempts: DEFAULTS.maxAttempts,
        initialBackoffMs: DEFAULTS.retryInitialBackoffMs,
        maxBackoffMs: DEFAULTS.retryMaxBackoffMs,
      }),
    );
    const declared = { maxAttempts: 5, initialBackoffMs: 200, maxBackoffMs: 4_000, jobTimeoutMs: 120_000 };
    expect(resolveJobPolicy(defaultJobPolicy(), declared)).toEqual(defaultJobPolicy(declared));
    const kickOff = defaultJobPolicy({ maxAttempts: 1, jobTimeoutMs: 500, taskTimeoutMs: 9_000 });
    expect(resolveJobPolicy(kickOff, declared)).toEqual(
      defaultJobPolicy({
        maxAttempts: 1,
        initialBackoffMs: 200,
        maxBackoffMs: 4_000,
        jobTimeoutMs: 500,
        taskTimeoutMs: 9_000,
      }),
    );
  });

  it('keeps only what the kick-off set for a job whose class the backend does not know', () => {
    const kickOff = defaultJobPolicy({ maxAttempts: 2 });
    expect(resolveJobPolicy(kickOff, undefined)).toEqual(kickOff);
  });
});
