import { describe, expect, it } from 'vitest';

import { compileKickOffOptions, endPolicies, validateTenant } from './options.js';

describe('validateTenant', () => {
  it('accepts ids of letters, digits, _ . - starting with a letter or digit, and null for unscoped', () => {
    for (const tenant of ['acme', 'Acme-2', 'a.b_c-d', '7eleven', 'x'.repeat(128)]) {
      expect(validateTenant(tenant)).toBe(tenant);
    }
    expect(validateTenant(undefined)).toBeNull();
    expect(validateTenant(null)).toBeNull();
  });

  it('refuses the empty string, separators and quotes that could blur the id encoding, and over-long ids', () => {
    for (const tenant of ['', ' acme', 'a|b', 'a"b', 'a/b', 'a,b', '[a]', '-acme', 'x'.repeat(129), 42]) {
      expect(() => validateTenant(tenant)).toThrow(expect.objectContaining({ code: 'E11_INVALID_OPTIONS' }));
    }
  });
});

describe('end policies', () => {
  const compile = (options: Parameters<typeof compileKickOffOptions>[0]) =>
    compileKickOffOptions(options, { topic: 'e11-job-completed', launchConcurrency: 10 });

  it('takes the smaller of maxFailures and the ratio, and rounds a success share up', () => {
    expect(endPolicies(compile({ maxFailures: 5, maxFailureRatio: 0.01 }), 200)).toEqual({
      maxFailures: 2,
      successNeeded: null,
    });
    expect(endPolicies(compile({ maxFailures: 5 }), 200)).toMatchObject({ maxFailures: 5 });
    expect(endPolicies(compile({ successPolicy: { ratio: 0.25 } }), 10)).toEqual({
      maxFailures: null,
      successNeeded: 3,
    });
    expect(endPolicies(compile({}), 10)).toEqual({ maxFailures: null, successNeeded: null });
  });

  it('refuses bad values with E11_INVALID_OPTIONS naming the field', () => {
    const refused = (options: Parameters<typeof compile>[0], path: string) =>
      expect(() => compile(options)).toThrow(expect.objectContaining({ context: { path } }));
    refused({ maxFailures: -1 }, 'maxFailures');
    refused({ maxFailures: 1.5 }, 'maxFailures');
    refused({ maxFailureRatio: 2 }, 'maxFailureRatio');
    refused({ successPolicy: { ratio: 0 } }, 'successPolicy.ratio');
    refused({ successPolicy: { succeeded: 0 } }, 'successPolicy.succeeded');
    refused({ successPolicy: {} as { ratio: number } }, 'successPolicy');
    expect(() => endPolicies(compile({ successPolicy: { succeeded: 11 } }), 10)).toThrow(
      expect.objectContaining({ context: { path: 'successPolicy.succeeded' } }),
    );
  });
});
