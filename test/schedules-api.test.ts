import { type JobParams } from '@e11/core';
import { type TickResult } from '@e11/core/engine';
import { type ScheduleDefinition, Schedules, startLocalScheduler } from '@e11/sdk';
import { afterAll, describe, expect, it } from 'vitest';

import { ChargeCardJob } from './fixtures/src/secret-jobs.js';
import { scheduleTestbed } from './helpers/schedule-harness.js';

const testbed = scheduleTestbed('schedules-api');
afterAll(() => testbed.close());

const HOUR = 3_600_000;
const hourly = { name: 'hourly', cron: '0 * * * *', jobName: 'sync', params: [{ a: 1 }] };

describe('schedules.upsert and list', () => {
  it('stores a schedule and lists it with its next fire time in its time zone', async () => {
    const h = await testbed.harness('2026-01-15T10:20:00Z');
    const created = await h.schedules.upsert({
      name: 'paris-nightly',
      cron: '0 3 * * *',
      timeZone: 'Europe/Paris',
      jobName: 'build_report',
      params: [{ day: 'today' }],
      overlap: 'allow',
      kickOff: { mode: 'array', tags: { team: 'ops' } },
    });
    expect(created).toMatchObject({
      name: 'paris-nightly',
      enabled: true,
      overlap: 'allow',
      cloudSchedulerJob: null,
      lastRun: null,
      lastFireAt: null,
      nextFireAt: new Date('2026-01-16T02:00:00Z'), // 03:00 CET
    });
    await h.schedules.upsert(hourly);
    expect((await h.schedules.list()).map((schedule) => schedule.name)).toEqual(['hourly', 'paris-nightly']);

    h.clock.advance(HOUR);
    const updated = await h.schedules.upsert({ ...hourly, params: [{ a: 2 }], overlap: 'cancel-previous' });
    expect(updated).toMatchObject({ params: [{ a: 2 }], overlap: 'cancel-previous' });
    expect(updated.createdAt).toEqual(created.createdAt);
    expect(updated.updatedAt).toEqual(new Date('2026-01-15T11:20:00Z'));
  });

  it.each([
    ['an invalid cron', { cron: '0 25 * * *' }, 'E11_INVALID_SCHEDULE', 'cron'],
    ['an unknown time zone', { timeZone: 'Atlantis/Capital' }, 'E11_INVALID_SCHEDULE', 'timeZone'],
    ['an unknown job name', { jobName: 'sink' }, 'E11_UNKNOWN_JOB_NAME', 'jobName'],
    ['a malformed job name', { jobName: 'sync!' }, 'E11_INVALID_JOB_NAME', undefined],
    ['an empty params list', { params: [] }, 'E11_INVALID_PARAMS', undefined],
    ['an unknown overlap policy', { overlap: 'queue' }, 'E11_INVALID_SCHEDULE', 'overlap'],
  ])('rejects %s with a typed error and stores nothing', async (_what, change, code, path) => {
    const h = await testbed.harness('2026-01-15T10:20:00Z', { schedules: { knownJobNames: ['sync'] } });
    const definition = { ...hourly, ...change } as ScheduleDefinition;
    const error = await h.schedules.upsert(definition).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code,
      ...(path === undefined ? {} : { context: expect.objectContaining({ path }) as unknown }),
    });
    expect(await h.schedules.list()).toEqual([]);
    const stored = await h.store.collections.schedules().get();
    expect(stored.size).toBe(0);
  });

  it('answers E11_UNKNOWN_SCHEDULE for a schedule that does not exist', async () => {
    const h = await testbed.harness('2026-01-15T10:20:00Z');
    for (const call of [
      () => h.schedules.get('nope'),
      () => h.schedules.pause('nope'),
      () => h.schedules.trigger('nope'),
      () => h.schedules.runs('nope'),
      () => h.schedules.tick({ scheduleName: 'nope' }),
      () => h.schedules.remove('nope'),
    ]) {
      await expect(call()).rejects.toMatchObject({ code: 'E11_UNKNOWN_SCHEDULE' });
    }
  });

  it('removes a schedule with its run history', async () => {
    const h = await testbed.harness('2026-01-15T10:20:00Z');
    await h.schedules.upsert(hourly);
    await h.schedules.trigger('hourly');
    await h.schedules.remove('hourly');
    expect(await h.schedules.list()).toEqual([]);
    expect((await h.store.collections.scheduleRuns('hourly').get()).size).toBe(0);
  });
});

describe('pause and resume', () => {
  it('does not fire while paused, and does not replay the fires it missed when resumed', async () => {
    const h = await testbed.harness('2026-01-15T10:20:00Z');
    await h.schedules.upsert(hourly);

    const paused = await h.schedules.pause('hourly');
    expect(paused).toMatchObject({ enabled: false, nextFireAt: null });
    h.clock.set('2026-01-15T11:05:00Z');
    expect(await h.schedules.tick()).toEqual([]); // a paused schedule is not even looked at
    expect(await h.schedules.tick({ scheduleName: 'hourly' })).toMatchObject([{ outcome: 'paused' }]);

    h.clock.set('2026-01-15T12:30:00Z');
    const resumed = await h.schedules.resume('hourly');
    expect(resumed).toMatchObject({ enabled: true, nextFireAt: new Date('2026-01-15T13:00:00Z') });
    expect(await h.schedules.tick()).toMatchObject([{ outcome: 'not-due' }]); // 11:00 and 12:00 were missed while paused

    h.clock.set('2026-01-15T13:00:10Z');
    expect(await h.schedules.tick()).toMatchObject([
      { outcome: 'launched', fireTime: '2026-01-15T13:00:00.000Z' },
    ]);
    expect((await h.schedules.runs('hourly')).map((run) => run.firedAt.toISOString())).toEqual([
      '2026-01-15T13:00:00.000Z',
    ]);
    expect(h.launcher.requests).toHaveLength(1);
  });
});

describe('params factories', () => {
  it('builds each run’s params at fire time from the named factory', async () => {
    const seen: string[] = [];
    const paramsFactories = {
      perRegion: (fireTime: Date): JobParams[] => {
        seen.push(fireTime.toISOString());
        return ['eu', 'us'].map((region) => ({ region, day: fireTime.toISOString().slice(0, 10) }));
      },
    };
    const h = await testbed.harness('2026-01-15T10:20:00Z', { schedules: { paramsFactories } });
    await h.schedules.upsert({
      name: 'regions',
      cron: '0 * * * *',
      jobName: 'sync',
      paramsFactory: 'perRegion',
    });

    h.clock.set('2026-01-15T11:00:30Z');
    const [result] = await h.schedules.tick();
    expect(seen).toEqual(['2026-01-15T11:00:00.000Z']);
    const jobs = await h.service.listJobs(result?.orchestrationId ?? '');
    expect(jobs.map((job) => job.params)).toEqual([
      { region: 'eu', day: '2026-01-15' },
      { region: 'us', day: '2026-01-15' },
    ]);
  });

  it('records a failed run, without throwing, for an unregistered factory or one that returns no params', async () => {
    const h = await testbed.harness('2026-01-15T10:20:00Z', {
      schedules: { paramsFactories: { none: () => [] } },
    });
    await h.schedules.upsert({ name: 'empty', cron: '0 * * * *', jobName: 'sync', paramsFactory: 'none' });
    // Stored through a Schedules without a registry (as a deployment that knows the factory would); this tick does not know it.
    const unregistered = { name: 'unregistered', cron: '0 * * * *', jobName: 'sync', paramsFactory: 'gone' };
    await h.service.schedules.upsert(unregistered);

    h.clock.set('2026-01-15T11:00:30Z');
    const results = await h.schedules.tick();
    expect(results.map(({ schedule, outcome, reason }) => ({ schedule, outcome, reason }))).toEqual([
      {
        schedule: 'empty',
        outcome: 'failed',
        reason: expect.stringContaining('E11_INVALID_PARAMS') as unknown,
      },
      {
        schedule: 'unregistered',
        outcome: 'failed',
        reason: "params factory 'gone' is not registered with the tick",
      },
    ]);
    expect(h.launcher.requests).toHaveLength(0);
    expect(await h.schedules.runs('unregistered')).toMatchObject([
      { outcome: 'failed', orchestrationId: null },
    ]);
    expect((await h.schedules.get('unregistered')).lastFireAt).toEqual(new Date('2026-01-15T11:00:00Z'));
  });
});

describe('history', () => {
  it('lists runs newest first with fire time, outcome, orchestration id and reason, up to the limit', async () => {
    const h = await testbed.harness('2026-01-15T10:20:00Z');
    await h.schedules.upsert(hourly);
    for (const at of ['2026-01-15T11:00:01Z', '2026-01-15T12:00:01Z', '2026-01-15T13:00:01Z']) {
      h.clock.set(at);
      await h.schedules.tick();
    }
    const runs = await h.schedules.runs('hourly', { limit: 2 });
    expect(runs).toEqual([
      expect.objectContaining({
        id: '2026-01-15T13:00:00.000Z',
        trigger: 'cron',
        firedAt: new Date('2026-01-15T13:00:00Z'),
        outcome: 'skipped',
        skipped: true,
        orchestrationId: null,
        reason: expect.stringContaining('still InProgress') as unknown,
      }),
      expect.objectContaining({ id: '2026-01-15T12:00:00.000Z', outcome: 'skipped' }),
    ]);
    const [oldest] = await h.schedules.runs('hourly', { limit: 3 }).then((all) => all.slice(2));
    expect(oldest).toMatchObject({
      outcome: 'launched',
      skipped: false,
      orchestrationId: expect.any(String) as unknown,
    });
    await expect(h.schedules.runs('hourly', { limit: 0 })).rejects.toMatchObject({
      code: 'E11_INVALID_OPTIONS',
    });
  });
});

describe('sensitive params', () => {
  it('shows a schedule with its kick-off keys and its job class keys redacted, and fires with the secrets', async () => {
    const h = await testbed.harness('2026-01-15T10:20:00Z', { service: { jobs: [ChargeCardJob] } });
    const params = [{ cardNumber: '4111222233334444', cvv: 'Q7x', token: 'tok-93', holder: 'Ada' }];
    const shown = [{ cardNumber: '[REDACTED]', cvv: '[REDACTED]', token: '[REDACTED]', holder: 'Ada' }];
    const upserted = await h.schedules.upsert({
      name: 'charge',
      cron: '0 * * * *',
      jobName: 'charge_card',
      params,
      kickOff: { sensitiveKeys: ['token'] },
    });
    expect(upserted.params).toEqual(shown);
    expect((await h.schedules.get('charge')).params).toEqual(shown);
    expect((await h.schedules.list()).map((schedule) => schedule.params)).toEqual([shown]);
    // Stored as given: the tick kicks the run off with the real params and every key to redact.
    expect((await h.store.collections.schedule('charge').get()).get('params')).toEqual(params);
    h.clock.set('2026-01-15T11:00:05Z');
    const [result] = await h.schedules.tick();
    const orchestration = await h.store.collections.orchestration(result?.orchestrationId ?? '').get();
    expect([...(orchestration.get('sensitiveKeys') as string[])].sort()).toEqual([
      'cardNumber',
      'cvv',
      'token',
    ]);
    const [job] = await h.service.listJobs(orchestration.id);
    expect(job?.params).toEqual(shown[0]);
  });
});

describe('tenants', () => {
  it('keeps a tenant’s schedules to that tenant and kicks its runs off in that tenant', async () => {
    const h = await testbed.harness('2026-01-15T10:20:00Z');
    const acme = new Schedules(h.service.forTenant('acme'));
    const globex = new Schedules(h.service.forTenant('globex'));
    await acme.upsert(hourly);

    // Names are per tenant: globex sees no schedule of acme's, and answers as for one that does not exist.
    expect(await globex.list()).toEqual([]);
    await expect(globex.get('hourly')).rejects.toMatchObject({ code: 'E11_UNKNOWN_SCHEDULE' });

    h.clock.set('2026-01-15T11:00:05Z');
    const [result] = await h.schedules.tick(); // the unscoped tick, as the function runs it
    expect(result).toMatchObject({ schedule: 'hourly', outcome: 'launched' });
    expect(await acme.get('hourly')).toMatchObject({
      tenant: 'acme',
      lastOrchestrationId: result?.orchestrationId,
    });
    const orchestration = await h.service.getOrchestration(result?.orchestrationId ?? '');
    expect(orchestration.tags).toEqual({ schedule: 'hourly', tenant: 'acme' });
    await expect(h.service.forTenant('globex').getOrchestration(orchestration.id)).rejects.toMatchObject({
      code: 'E11_UNKNOWN_ORCHESTRATION',
    });
  });
});

describe('local scheduler', () => {
  it('runs the tick on a timer and stops cleanly', async () => {
    const h = await testbed.harness('2026-01-15T10:20:00Z');
    await h.schedules.upsert(hourly);
    h.clock.set('2026-01-15T11:00:05Z');

    const launched = new Promise<TickResult>((resolve) => {
      const scheduler = startLocalScheduler({
        service: h.service,
        intervalMs: 20,
        onTick: (results) => {
          const result = results.find((candidate) => candidate.outcome === 'launched');
          if (result) void scheduler.stop().then(() => resolve(result));
        },
      });
    });
    expect(await launched).toMatchObject({ schedule: 'hourly', fireTime: '2026-01-15T11:00:00.000Z' });
    expect(await h.schedules.runs('hourly')).toHaveLength(1);
    expect(h.launcher.requests).toHaveLength(1);
  });
});
