import { describe, expect, it } from 'vitest';

import * as core from '../index.js';
import * as task from './index.js';

describe('the @e11/core/task entry', () => {
  it('exports the very values @e11/core exports under the same names', () => {
    const names = Object.keys(task);
    expect(names.length).toBeGreaterThan(30);
    for (const name of names) {
      expect((core as Record<string, unknown>)[name]).toBe((task as Record<string, unknown>)[name]);
    }
  });

  it('leaves out what only a backend or the trigger needs', () => {
    for (const name of [
      'registerOrchestration',
      'checkCompletion',
      'jobCompletedEventSchema',
      'recoverStaleJob',
    ]) {
      expect(name in core).toBe(true);
      expect(name in task).toBe(false);
    }
  });
});
