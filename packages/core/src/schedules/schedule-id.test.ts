import { describe, expect, it } from 'vitest';

import { scheduleDocId } from './schedule-id.js';

const CLOUD_SCHEDULER_JOB_ID = /^[A-Za-z0-9_-]{1,500}$/;

describe('scheduleDocId', () => {
  it('keeps the name as the id of an untenanted schedule (ids from before tenants stay valid)', () => {
    expect(scheduleDocId(null, 'nightly')).toBe('nightly');
  });

  it('encodes the tenant to a valid, lower-case Cloud Scheduler job id', () => {
    expect(scheduleDocId('acme', 'nightly')).toBe('acme__nightly');
    expect(scheduleDocId('Globex.EU_1', 'nightly')).toBe('_globex_1_e_u_01__nightly');
    const longest = scheduleDocId('A_'.repeat(64), `n${'-'.repeat(62)}`);
    expect(`e11-${longest}`).toMatch(CLOUD_SCHEDULER_JOB_ID);
    expect(longest).not.toMatch(/^__.*__$/);
  });

  it('gives distinct (tenant, name) pairs distinct ids', () => {
    const tenants = [
      null,
      'a',
      'A',
      'a_',
      'a.',
      'a-',
      'a_b',
      'a__b',
      'a.b',
      'A_b',
      'a_0',
      '_a',
      'a_1',
      'x__y',
    ];
    const names = ['b', 'b-c', 'c', 'a__b'.replace(/_/g, '-'), 'y'];
    const ids = new Map<string, string>();
    for (const tenant of tenants) {
      for (const name of names) {
        const id = scheduleDocId(tenant, name);
        const pair = JSON.stringify([tenant, name]);
        expect(ids.get(id) ?? pair, id).toBe(pair);
        ids.set(id, pair);
        expect(id).toMatch(CLOUD_SCHEDULER_JOB_ID);
      }
    }
    expect(ids.size).toBe(tenants.length * names.length);
  });
});
