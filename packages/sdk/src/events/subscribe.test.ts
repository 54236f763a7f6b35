import { describe, expect, it } from 'vitest';

import { jobCompletedFilterExpression } from './subscribe.js';

describe('jobCompletedFilterExpression', () => {
  it('joins attribute equalities with AND and quotes values', () => {
    expect(jobCompletedFilterExpression({ customerId: 'acme', status: 'Errored' })).toBe(
      'attributes.customerId = "acme" AND attributes.status = "Errored"',
    );
  });

  it('escapes quotes and backslashes, and quotes keys that are not plain identifiers', () => {
    expect(jobCompletedFilterExpression({ 'customer.id': 'a"b\\c' })).toBe(
      'attributes."customer.id" = "a\\"b\\\\c"',
    );
  });
});
