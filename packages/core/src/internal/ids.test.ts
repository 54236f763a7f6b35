import { describe, expect, it } from 'vitest';

import { deterministicUuid, idempotentOrchestrationId } from './ids.js';

describe('idempotentOrchestrationId', () => {
  it('keeps the derivation of unscoped kick-offs, so their ids stay stable', () => {
    expect(idempotentOrchestrationId('e11_', null, 'nightly')).toBe(
      deterministicUuid('e11_|idempotency|nightly'),
    );
  });

  it('gives each tenant its own id for the same key, and the unscoped service another one', () => {
    const ids = [null, 'acme', 'globex'].map((tenant) =>
      idempotentOrchestrationId('e11_', tenant, 'nightly'),
    );
    expect(new Set(ids).size).toBe(3);
    expect(idempotentOrchestrationId('e11_', 'acme', 'nightly')).toBe(ids[1]);
  });

  it('cannot be steered into another tenant or prefix by moving a separator between the parts', () => {
    const pairs: [string, string, string][] = [
      ['e11_', 'a', 'b|c'],
      ['e11_', 'a|b', 'c'],
      ['e11_|a', 'b', 'c'],
      ['e11_', 'a","b', 'c'],
      ['e11_', 'a', '","b'],
    ];
    const ids = pairs.map(([prefix, tenant, key]) => idempotentOrchestrationId(prefix, tenant, key));
    expect(new Set(ids).size).toBe(pairs.length);
    // Nor into an unscoped id: `prefix|idempotency|key` never equals a tenant's derivation input.
    expect(ids).not.toContain(idempotentOrchestrationId('e11_', null, 'a|b|c'));
  });
});
