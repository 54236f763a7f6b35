import { describe, expect, it } from 'vitest';

import { redactParams } from './redact.js';

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
