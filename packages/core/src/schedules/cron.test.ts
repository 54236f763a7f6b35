import { describe, expect, it } from 'vitest';

import { CronSchedule, validateTimeZone } from './cron.js';

const iso = (dates: Date[]) => dates.map((date) => date.toISOString());

describe('CronSchedule', () => {
  it('fires a local time that falls in the spring-forward gap once, at the first valid instant after it', () => {
    // 2026-03-08 in New York: 02:00 EST jumps to 03:00 EDT, so 02:00 does not exist that day.
    const daily2am = new CronSchedule('0 2 * * *', 'America/New_York');
    expect(iso(daily2am.nextRuns(3, Date.parse('2026-03-07T12:00:00Z')))).toEqual([
      '2026-03-08T07:00:00.000Z', // 03:00 EDT
      '2026-03-09T06:00:00.000Z', // 02:00 EDT
      '2026-03-10T06:00:00.000Z',
    ]);
    const daily130 = new CronSchedule('30 1 * * *', 'America/New_York');
    expect(iso(daily130.nextRuns(2, Date.parse('2026-03-07T12:00:00Z')))).toEqual([
      '2026-03-08T06:30:00.000Z', // 01:30 EST, before the gap
      '2026-03-09T05:30:00.000Z', // 01:30 EDT
    ]);
  });

  it('fires a local time that happens twice in the fall-back hour on its first occurrence only', () => {
    // 2026-11-01 in New York: 02:00 EDT falls back to 01:00 EST, so 01:30 happens twice.
    const daily130 = new CronSchedule('30 1 * * *', 'America/New_York');
    expect(iso(daily130.nextRuns(3, Date.parse('2026-10-31T12:00:00Z')))).toEqual([
      '2026-11-01T05:30:00.000Z', // 01:30 EDT; 06:30Z (01:30 EST) is not a fire time
      '2026-11-02T06:30:00.000Z',
      '2026-11-03T06:30:00.000Z',
    ]);
    expect(daily130.latestAtOrBefore(Date.parse('2026-11-01T06:45:00Z'))?.toISOString()).toBe(
      '2026-11-01T05:30:00.000Z',
    );
  });

  it('runs an interval expression on both occurrences of a repeated hour and skips the missing one', () => {
    const halfHourly = new CronSchedule('*/30 1-2 * * *', 'America/New_York');
    expect(iso(halfHourly.nextRuns(6, Date.parse('2026-11-01T04:59:00Z')))).toEqual([
      '2026-11-01T05:00:00.000Z', // 01:00 EDT
      '2026-11-01T05:30:00.000Z', // 01:30 EDT
      '2026-11-01T06:00:00.000Z', // 01:00 EST
      '2026-11-01T06:30:00.000Z', // 01:30 EST
      '2026-11-01T07:00:00.000Z', // 02:00 EST
      '2026-11-01T07:30:00.000Z', // 02:30 EST
    ]);
    expect(iso(halfHourly.nextRuns(3, Date.parse('2026-03-08T05:59:00Z')))).toEqual([
      '2026-03-08T06:00:00.000Z', // 01:00 EST
      '2026-03-08T06:30:00.000Z', // 01:30 EST; 02:00-02:59 does not exist
      '2026-03-09T05:00:00.000Z',
    ]);
  });

  it('counts a fire exactly at the reference as due and the next one as strictly later', () => {
    const hourly = new CronSchedule('0 * * * *', 'UTC');
    const at = Date.parse('2026-01-01T10:00:00Z');
    expect(hourly.latestAtOrBefore(at)?.toISOString()).toBe('2026-01-01T10:00:00.000Z');
    expect(hourly.latestAtOrBefore(at - 1)?.toISOString()).toBe('2026-01-01T09:00:00.000Z');
    expect(hourly.nextAfter(at)?.toISOString()).toBe('2026-01-01T11:00:00.000Z');
  });

  it.each([
    ['61 * * * *', /minute/],
    ['0 0 * * * *', /5 parts/],
    ['@daily', /nicknames/],
    ['', /5-field/],
    ['0 0 30 2 *', /never fires/],
  ])('rejects the cron expression %j as E11_INVALID_SCHEDULE naming cron', (expression, message) => {
    expect(() => new CronSchedule(expression, 'UTC')).toThrow(
      expect.objectContaining({
        code: 'E11_INVALID_SCHEDULE',
        context: { path: 'cron' },
        message: expect.stringMatching(message) as unknown,
      }),
    );
  });

  it('accepts IANA zones and UTC and rejects anything else naming timeZone', () => {
    expect(validateTimeZone('Europe/Paris')).toBe('Europe/Paris');
    expect(validateTimeZone('UTC')).toBe('UTC');
    for (const zone of ['Mars/Olympus_Mons', 'europe/paris', '', 42]) {
      expect(() => validateTimeZone(zone)).toThrow(
        expect.objectContaining({ code: 'E11_INVALID_SCHEDULE', context: { path: 'timeZone' } }),
      );
    }
  });
});
