import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { createLogger } from '@e11/core';
import { createSchedulerTickHandler, type SchedulerTickHandler } from '@e11/functions';
import { Schedules } from '@e11/sdk';
import * as functions from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type ScheduleHarness, scheduleTestbed } from './helpers/schedule-harness.js';

const testbed = scheduleTestbed('functions-scheduler-tick');
let h: ScheduleHarness;
let handler: SchedulerTickHandler;
let server: Server;
let url: string;

beforeAll(async () => {
  h = await testbed.harness('2026-04-01T07:59:00Z');
  handler = createSchedulerTickHandler({
    service: h.service,
    logger: createLogger('scheduler-tick-test', { level: 'silent' }),
  });
  functions.http('schedulerTick', handler);
  server = getTestServer('schedulerTick');
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

afterAll(async () => {
  await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  await handler.close();
  await testbed.close();
});

/** A request the way Cloud Scheduler sends it: POST, JSON body, the scheduled time in a header. */
function tick(body: unknown, headers: Record<string, string> = {}, method = 'POST') {
  return fetch(url, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: method === 'GET' ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
}

describe('schedulerTick over HTTP', () => {
  it('kicks off the fire Cloud Scheduler names in its header, and a retried request launches nothing again', async () => {
    await h.schedules.upsert({ name: 'every-eight', cron: '0 8 * * *', jobName: 'sync', params: [{ a: 1 }] });
    h.clock.set('2026-04-01T08:00:03Z');
    const headers = {
      'X-CloudScheduler-ScheduleTime': '2026-04-01T08:00:00Z',
      'X-CloudScheduler-JobName': 'e11-every-eight',
    };

    const first = await tick({ scheduleName: 'every-eight' }, headers);
    expect(first.status).toBe(200);
    const { results } = (await first.json()) as { results: { outcome: string; orchestrationId: string }[] };
    expect(results).toEqual([
      {
        schedule: 'every-eight',
        outcome: 'launched',
        fireTime: '2026-04-01T08:00:00.000Z',
        runId: '2026-04-01T08:00:00.000Z',
        orchestrationId: expect.any(String) as unknown,
        reason: null,
      },
    ]);
    const orchestration = await h.service.getOrchestration(results[0]?.orchestrationId ?? '');
    expect(orchestration.idempotencyKey).toBe('schedule:every-eight:2026-04-01T08:00:00.000Z');

    const retried = await Promise.all([1, 2, 3].map(() => tick({ scheduleName: 'every-eight' }, headers)));
    for (const response of retried) {
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ results: [{ outcome: 'duplicate' }] });
    }
    expect(await h.schedules.runs('every-eight')).toHaveLength(1);
    expect(
      h.launcher.requests.filter((request) => request.env.ORCHESTRATION_ID === orchestration.id),
    ).toHaveLength(1);
  });

  it('derives the latest due fire time from the cron when the header is absent', async () => {
    await h.schedules.upsert({ name: 'hourly', cron: '0 * * * *', jobName: 'sync', params: [{ b: 1 }] });
    h.clock.set('2026-04-01T09:00:07Z');

    const response = await tick({ scheduleName: 'hourly' });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      results: [{ schedule: 'hourly', outcome: 'launched', fireTime: '2026-04-01T09:00:00.000Z' }],
    });
  });

  it('records a skipped run when the previous run is still in progress', async () => {
    h.clock.set('2026-04-01T10:00:04Z');
    const response = await tick(
      { scheduleName: 'hourly' },
      { 'X-CloudScheduler-ScheduleTime': '2026-04-01T10:00:00Z' },
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      results: [{ outcome: 'skipped', reason: expect.stringContaining('still InProgress') as unknown }],
    });
  });

  it.each([
    ['a body that is not an object', 400, [1, 2], {}],
    ['a scheduleName that is not a string', 400, { scheduleName: 7 }, {}],
    ['an unknown body field', 400, { scheduleName: 'hourly', at: 'now' }, {}],
    ['a malformed schedule name', 400, { scheduleName: 'Hourly/../x' }, {}],
    [
      'a schedule time that is not a time',
      400,
      { scheduleName: 'hourly' },
      { 'X-CloudScheduler-ScheduleTime': 'soon' },
    ],
    [
      'a schedule time without a schedule name',
      400,
      {},
      { 'X-CloudScheduler-ScheduleTime': '2026-04-01T10:00:00Z' },
    ],
    ['an unknown schedule', 404, { scheduleName: 'no-such-schedule' }, {}],
    ['a tenant without a schedule name', 400, { tenant: 'acme' }, {}],
    ['a tenant that is not a string', 400, { scheduleName: 'hourly', tenant: 5 }, {}],
    ['a malformed tenant', 400, { scheduleName: 'hourly', tenant: 'acme/../x' }, {}],
  ])('answers %s with a one-line %i', async (_what, status, body, headers) => {
    const response = await tick(body, headers);
    expect(response.status).toBe(status);
    const text = await response.text();
    expect(text).toMatch(/^E11_[A-Z_]+: [^\n]+\n$/);
  });

  it('lets the framework refuse a body that is not JSON with 400 before any tick runs', async () => {
    const runsBefore = (await h.schedules.runs('hourly')).length;
    const response = await tick('{scheduleName:');
    expect(response.status).toBe(400);
    expect(await h.schedules.runs('hourly')).toHaveLength(runsBefore);
  });

  it('answers 405 to anything but POST', async () => {
    const response = await tick(undefined, {}, 'GET');
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
  });

  it('answers 500 (so Cloud Scheduler retries) when the stored schedule cannot be read', async () => {
    await h.store.collections.schedule('broken').set({ v: 1, name: 'broken', cron: 42 });
    const response = await tick({ scheduleName: 'broken' });
    expect(response.status).toBe(500);
    expect(await response.text()).toMatch(/^E11_CORRUPT_DOCUMENT: .*\n$/);
  });

  it('ticks the schedule of the tenant the body names, into that tenant; another tenant’s name answers as unknown', async () => {
    const acme = new Schedules(h.service.forTenant('acme'));
    const globex = new Schedules(h.service.forTenant('globex'));
    const definition = { name: 'tenant-hourly', cron: '0 * * * *', jobName: 'sync', params: [{ c: 1 }] };
    await acme.upsert(definition);
    await globex.upsert(definition);
    await acme.upsert({ ...definition, name: 'acme-only' });
    h.clock.set('2026-04-01T11:00:03Z');
    const headers = { 'X-CloudScheduler-ScheduleTime': '2026-04-01T11:00:00Z' };

    const response = await tick({ scheduleName: 'tenant-hourly', tenant: 'globex' }, headers);
    expect(response.status).toBe(200);
    const { results } = (await response.json()) as {
      results: { outcome: string; orchestrationId: string }[];
    };
    expect(results).toMatchObject([{ schedule: 'tenant-hourly', outcome: 'launched' }]);
    const orchestration = await h.service
      .forTenant('globex')
      .getOrchestration(results[0]?.orchestrationId ?? '');
    expect(orchestration.tags).toEqual({ schedule: 'tenant-hourly', tenant: 'globex' });
    expect(await globex.runs('tenant-hourly')).toHaveLength(1);
    expect(await acme.runs('tenant-hourly')).toEqual([]);

    const foreign = await tick({ scheduleName: 'acme-only', tenant: 'globex' }, headers);
    const missing = await tick({ scheduleName: 'acme-nope', tenant: 'globex' }, headers);
    expect(foreign.status).toBe(404);
    expect(missing.status).toBe(404);
    expect((await foreign.text()).replace('acme-only', '{name}')).toBe(
      (await missing.text()).replace('acme-nope', '{name}'),
    );
    expect(await acme.runs('acme-only')).toEqual([]);
  });
});
