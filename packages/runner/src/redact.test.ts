import { describe, expect, it } from 'vitest';

import { createRedactor } from './redact.js';

describe('createRedactor', () => {
  it('replaces values of sensitive keys at any depth, raw and JSON-escaped', () => {
    const redact = createRedactor(
      { apiKey: 'sk-"quoted"-123', nested: { password: 'hunter22' }, user: 'alice' },
      ['apiKey', 'password'],
    );
    expect(redact('key sk-"quoted"-123 and hunter22 for alice')).toBe(
      'key [REDACTED] and [REDACTED] for alice',
    );
    expect(redact(JSON.stringify({ message: 'sk-"quoted"-123' }))).toBe('{"message":"[REDACTED]"}');
  });

  it('redacts every item of a sensitive array and leaves text alone without sensitive keys', () => {
    expect(createRedactor({ tokens: ['tok-aaaa', 'tok-bbbb'] }, ['tokens'])('tok-aaaa tok-bbbb')).toBe(
      '[REDACTED] [REDACTED]',
    );
    expect(createRedactor({ apiKey: 'sk-123456' }, [])('sk-123456')).toBe('sk-123456');
  });
});

describe('createRedactor with short values', () => {
  it('redacts a value under 4 characters (a CVV, a PIN) as a whole token only', () => {
    const redact = createRedactor({ card: { cvv: '123', pin: 7 }, note: 'x' }, ['cvv', 'pin']);
    expect(redact('cvv 123, pin 7.')).toBe('cvv [REDACTED], pin [REDACTED].');
    expect(redact('{"cvv":"123"}')).toBe('{"cvv":"[REDACTED]"}');
    // Inside a longer token it is another value: left alone.
    expect(redact('order 1234 x123 123abc 17 _123')).toBe('order 1234 x123 123abc 17 _123');
  });

  it('keeps longer values as substring matches', () => {
    expect(createRedactor({ cardNumber: '4111' }, ['cardNumber'])('x4111y')).toBe('x[REDACTED]y');
  });
});
