import { describe, expect, it } from 'vitest';

import { DEFAULTS } from '../defaults.js';

import { publishBackoffMs } from './completion-marker.js';

describe('publishBackoffMs', () => {
  it('waits the initial backoff after a first failure, doubling per failure up to the cap', () => {
    expect(publishBackoffMs(1)).toBe(DEFAULTS.publishInitialBackoffMs);
    expect(publishBackoffMs(2)).toBe(2 * DEFAULTS.publishInitialBackoffMs);
    expect(publishBackoffMs(3)).toBe(4 * DEFAULTS.publishInitialBackoffMs);
    expect(publishBackoffMs(1_000)).toBe(DEFAULTS.publishMaxBackoffMs);
  });
});
