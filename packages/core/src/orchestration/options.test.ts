import { describe, expect, it } from 'vitest';

import { validateTenant } from './options.js';

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
