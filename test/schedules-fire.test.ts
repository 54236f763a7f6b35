import { E11Error, ErrorCode } from '@e11/core';
import { type ScheduleService, runScheduleTick } from '@e11/core/engine';
import { afterAll, describe, expect, it } from 'vitest';

import { type ScheduleHarness, scheduleTestbed } from './helpers/schedule-harness.js';

const testbed = scheduleTestbed('schedules-fire');
afterAll(() => testbed.close());

const HALF_HOUR = 30 * 60_000;

/** Ticks every half hour from `from` to `to` (inclusive), as the local scheduler would, on the manual clock. */
async function tickThrough(h: ScheduleHarness, from: string, to: string) {
  for (let at = Date.parse(from); at <= Date.parse(to); at += HALF_HOUR) {
    h.clock.set(at);
    await h.schedules.tick();
  }
}

async function firedAt(h: ScheduleHarness, name: string) {
  const runs = await h.schedules.runs(name, { limit: 100 });
  expect(runs.filter((run) => run.outcome !== 'launched')).toEqual([]);
  return runs.map((run) => run.firedAt.toISOString()).reverse();
}

describe('scheduled fire times', () => {
  it('fires once per fire time across the spring-forward change, where 02:00 does not exist', async () => {
    const h = await testbed.harness('2026-03-07T00:00:00Z');
    const base = {
      timeZone: 'America/New_York',
      jobName: 'nightly',
      params: [{ n: 1 }],
      overlap: 'allow' as const,
    };
    await h.schedules.upsert({ ...base, name: 'at-0130', cron: '30 1 * * *' });
    await h.schedules.upsert({ ...base, name: 'at-0200', cron: '0 2 * * *' });

    await tickThrough(h, '2026-03-07T00:30:00Z', '2026-03-09T12:00:00Z');

    expect(await firedAt(h, 'at-0130')).toEqual([
      '2026-03-07T06:30:00.000Z', // 01:30 EST
      '2026-03-08T06:30:00.000Z', // 01:30 EST, just before the gap
      '2026-03-09T05:30:00.000Z', // 01:30 EDT
    ]);
    expect(await firedAt(h, 'at-0200')).toEqual([
      '2026-03-07T07:00:00.000Z', // 02:00 EST
      '2026-03-08T07:00:00.000Z', // 02:00 does not exist: croner fires at 03:00 EDT
      '2026-03-09T06:00:00.000Z', // 02:00 EDT
    ]);
    expect(h.launcher.requests).toHaveLength(6);
    const schedule = await h.schedules.get('at-0200');
    expect(schedule.lastFireAt?.toISOString()).toBe('2026-03-09T06:00:00.000Z');
    expect(schedule.nextFireAt?.toISOString()).toBe('2026-03-10T06:00:00.000Z');
  });

  it('fires a daily time once on the fall-back day and an interval on both occurrences of the repeated hour', async () => {
    const h = await testbed.harness('2026-10-31T12:00:00Z');
    const base = {
      timeZone: 'America/New_York',
      jobName: 'nightly',
      params: [{ n: 1 }],
      overlap: 'allow' as const,
    };
    await h.schedules.upsert({ ...base, name: 'at-0130', cron: '30 1 * * *' });
    await h.schedules.upsert({ ...base, name: 'half-hourly', cron: '*/30 1-2 * * *' });

    await tickThrough(h, '2026-10-31T12:30:00Z', '2026-11-02T12:00:00Z');

    expect(await firedAt(h, 'at-0130')).toEqual([
      '2026-11-01T05:30:00.000Z', // 01:30 EDT; 01:30 EST (06:30Z) is not a second fire
      '2026-11-02T06:30:00.000Z',
    ]);
    expect(await firedAt(h, 'half-hourly')).toEqual([
      '2026-11-01T05:00:00.000Z', // 01:00 EDT
      '2026-11-01T05:30:00.000Z', // 01:30 EDT
      '2026-11-01T06:00:00.000Z', // 01:00 EST
      '2026-11-01T06:30:00.000Z', // 01:30 EST
      '2026-11-01T07:00:00.000Z', // 02:00 EST
      '2026-11-01T07:30:00.000Z', // 02:30 EST
      '2026-11-02T06:00:00.000Z',
      '2026-11-02T06:30:00.000Z',
      '2026-11-02T07:00:00.000Z',
      '2026-11-02T07:30:00.000Z',
    ]);
  });

  it('runs only the latest missed fire after downtime, and nothing from before the schedule existed', async () => {
    const h = await testbed.harness('2026-05-01T10:20:00Z');
    await h.schedules.upsert({ name: 'hourly', cron: '0 * * * *', jobName: 'sync', params: [{ a: 1 }] });

    expect(await h.schedules.tick()).toMatchObject([{ schedule: 'hourly', outcome: 'not-due' }]);
    h.clock.set('2026-05-01T15:45:00Z'); // five fire times passed while nothing ticked
    expect(await h.schedules.tick()).toMatchObject([
      { schedule: 'hourly', outcome: 'launched', fireTime: '2026-05-01T15:00:00.000Z' },
    ]);
    expect(await h.schedules.tick()).toMatchObject([{ outcome: 'not-due' }]);
    expect(await firedAt(h, 'hourly')).toEqual(['2026-05-01T15:00:00.000Z']);
  });
});

describe('duplicate ticks', () => {
  it('records one run and launches once when the same fire is ticked twice', async () => {
    const h = await testbed.harness('2026-05-01T09:59:00Z');
    await h.schedules.upsert({
      name: 'hourly',
      cron: '0 * * * *',
      jobName: 'sync',
      params: [{ a: 1 }, { a: 2 }],
    });
    h.clock.set('2026-05-01T10:00:05Z');
    const fireTime = new Date('2026-05-01T10:00:00Z');

    const [first] = await h.schedules.tick({ scheduleName: 'hourly', fireTime });
    const [second] = await h.schedules.tick({ scheduleName: 'hourly', fireTime });
    const [derived] = await h.schedules.tick({ scheduleName: 'hourly' });

    expect(first).toMatchObject({ outcome: 'launched', runId: '2026-05-01T10:00:00.000Z' });
    expect(second).toMatchObject({ outcome: 'duplicate', orchestrationId: first?.orchestrationId });
    expect(derived).toMatchObject({ outcome: 'not-due' });
    expect(await h.schedules.runs('hourly')).toHaveLength(1);
    expect(h.launcher.requests).toHaveLength(2); // one per parameter set, once
    const orchestration = await h.service.getOrchestration(first?.orchestrationId ?? '');
    expect(orchestration.tags).toEqual({ schedule: 'hourly' });
  });

  it('records one run and launches once when many ticks for one fire arrive at the same moment', async () => {
    const h = await testbed.harness('2026-05-01T09:59:00Z');
    await h.schedules.upsert({ name: 'hourly', cron: '0 * * * *', jobName: 'sync', params: [{ a: 1 }] });
    h.clock.set('2026-05-01T10:00:02Z');
    const fireTime = new Date('2026-05-01T10:00:00Z');

    const results = (
      await Promise.all([
        ...Array.from({ length: 5 }, () => h.schedules.tick({ scheduleName: 'hourly', fireTime })),
        ...Array.from({ length: 3 }, () => h.schedules.tick()),
      ])
    ).flat();

    expect(results.filter((result) => result.outcome === 'launched')).toHaveLength(1);
    expect(results.filter((result) => result.outcome === 'duplicate')).toHaveLength(7);
    expect(await h.schedules.runs('hourly')).toMatchObject([{ outcome: 'launched' }]);
    expect(h.launcher.requests).toHaveLength(1);
    const { items } = await h.service.listOrchestrations();
    expect(items).toHaveLength(1);
  });

  it('lets a retried tick finish a fire whose first tick failed transiently, launching once', async () => {
    const h = await testbed.harness('2026-05-01T09:59:00Z');
    await h.schedules.upsert({ name: 'hourly', cron: '0 * * * *', jobName: 'sync', params: [{ a: 1 }] });
    h.clock.set('2026-05-01T10:00:01Z');
    let failures = 1;
    // The first kick-off fails the way an unavailable Firestore would: a retryable error.
    const flaky: ScheduleService = h.withKickOff((jobName, params, options) => {
      if (failures-- > 0) {
        return Promise.reject(
          new E11Error(ErrorCode.Unavailable, 'Firestore unavailable', { retryable: true }),
        );
      }
      return h.service.kickOffJob(jobName, params, options);
    });

    await expect(runScheduleTick({ service: flaky }, { scheduleName: 'hourly' })).rejects.toMatchObject({
      code: 'E11_UNAVAILABLE',
    });
    expect(await h.schedules.runs('hourly')).toMatchObject([{ outcome: 'pending', orchestrationId: null }]);
    expect(h.launcher.requests).toHaveLength(0);

    const [retry] = await runScheduleTick({ service: flaky }, { scheduleName: 'hourly' });
    expect(retry).toMatchObject({ outcome: 'launched', fireTime: '2026-05-01T10:00:00.000Z' });
    expect(await h.schedules.runs('hourly')).toMatchObject([{ outcome: 'launched' }]);
    expect(h.launcher.requests).toHaveLength(1);
  });
});
