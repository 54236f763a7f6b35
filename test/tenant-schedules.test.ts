import { E11Error } from '@e11/core';
import { type TickResult } from '@e11/core/engine';
import { Schedules, type ScheduleInfo, startLocalScheduler } from '@e11/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type CloudSchedulerServer, startCloudSchedulerServer } from './helpers/cloud-scheduler-server.js';
import { scheduleTestbed } from './helpers/schedule-harness.js';

/**
 * Schedules are per tenant: tenant B can own a schedule of a name tenant A uses, and nothing B does
 * through its schedules reads, changes or reveals A's — an A-only name answers exactly as a name
 * nobody uses.
 */

const testbed = scheduleTestbed('tenant-schedules');
let server: CloudSchedulerServer;
beforeAll(async () => {
  server = await startCloudSchedulerServer();
});
afterAll(async () => {
  await server.close();
  await testbed.close();
});

const nightlyA = { name: 'nightly', cron: '0 3 * * *', jobName: 'sync', params: [{ owner: 'a' }] };
const nightlyB = { name: 'nightly', cron: '30 4 * * *', jobName: 'sync', params: [{ owner: 'b' }] };

async function tenants(start = '2026-03-10T10:20:00Z') {
  const h = await testbed.harness(start);
  const a = new Schedules(h.service.forTenant('acme'));
  const b = new Schedules(h.service.forTenant('Globex.EU_1'));
  return { ...h, a, b };
}

/** What a rejected call answers, as JSON, with the asked name replaced (to compare two names' answers). */
async function answer(call: () => Promise<unknown>, name: string): Promise<unknown> {
  const error = await call().then(
    () => new Error('resolved'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(E11Error);
  return JSON.parse(JSON.stringify((error as E11Error).toJSON()).replaceAll(name, '{name}')) as unknown;
}

describe('schedules per tenant', () => {
  it('lets two tenants each own a schedule of the same name, each seeing only its own', async () => {
    const h = await tenants();
    const savedA = await h.a.upsert(nightlyA);
    const savedB = await h.b.upsert(nightlyB);
    expect(savedB).toMatchObject({ name: 'nightly', cron: '30 4 * * *', params: [{ owner: 'b' }] });

    expect(await h.a.get('nightly')).toMatchObject({ cron: '0 3 * * *', params: [{ owner: 'a' }] });
    expect(await h.b.get('nightly')).toMatchObject({ cron: '30 4 * * *', params: [{ owner: 'b' }] });
    expect((await h.a.list()).map((s) => [s.name, s.cron])).toEqual([['nightly', '0 3 * * *']]);
    expect((await h.b.list()).map((s) => [s.name, s.cron])).toEqual([['nightly', '30 4 * * *']]);
    // B's upsert did not change A's definition.
    expect(await h.a.get('nightly')).toEqual(savedA);

    // The operator's unscoped view shows both, each with its tenant; neither shadows an untenanted one.
    const all = (await h.schedules.list()).map((s) => [s.name, s.tenant, s.cron]);
    expect(all).toEqual(
      expect.arrayContaining([
        ['nightly', 'acme', '0 3 * * *'],
        ['nightly', 'Globex.EU_1', '30 4 * * *'],
      ]),
    );
    expect(all).toHaveLength(2);
    await expect(h.schedules.get('nightly')).rejects.toMatchObject({ code: 'E11_UNKNOWN_SCHEDULE' });
    expect((await h.store.collections.schedules().get()).size).toBe(2);
  });

  it("B's pause, trigger, runs and remove act on B's schedule only", async () => {
    const h = await tenants();
    await h.a.upsert(nightlyA);
    await h.b.upsert(nightlyB);
    const before = await h.a.get('nightly');

    expect(await h.b.pause('nightly')).toMatchObject({ enabled: false });
    expect(await h.a.get('nightly')).toEqual(before);

    const fired = await h.b.trigger('nightly');
    expect(fired).toMatchObject({ outcome: 'launched' });
    const orchestration = await h.service
      .forTenant('Globex.EU_1')
      .getOrchestration(fired.orchestrationId ?? '');
    expect(orchestration.tags).toEqual({ schedule: 'nightly', tenant: 'Globex.EU_1' });
    await expect(h.service.forTenant('acme').getOrchestration(orchestration.id)).rejects.toMatchObject({
      code: 'E11_UNKNOWN_ORCHESTRATION',
    });
    expect((await h.b.runs('nightly')).map((run) => run.orchestrationId)).toEqual([orchestration.id]);
    expect(await h.a.runs('nightly')).toEqual([]);
    expect(await h.a.get('nightly')).toEqual(before);

    await h.b.remove('nightly');
    await expect(h.b.get('nightly')).rejects.toMatchObject({ code: 'E11_UNKNOWN_SCHEDULE' });
    expect(await h.a.get('nightly')).toEqual(before);
    expect(await h.a.list()).toEqual([before]);
  });

  it('answers B for a name only A uses exactly as for a name nobody uses', async () => {
    const h = await tenants();
    await h.a.upsert({ ...nightlyA, name: 'acme-secret-plan' });
    const calls: [string, (name: string) => Promise<unknown>][] = [
      ['get', (name) => h.b.get(name)],
      ['pause', (name) => h.b.pause(name)],
      ['resume', (name) => h.b.resume(name)],
      ['trigger', (name) => h.b.trigger(name)],
      ['trigger force', (name) => h.b.trigger(name, { force: true })],
      ['runs', (name) => h.b.runs(name)],
      ['tick', (name) => h.b.tick({ scheduleName: name })],
      ['tick at', (name) => h.b.tick({ scheduleName: name, fireTime: new Date('2026-03-11T03:00:00Z') })],
      ['remove', (name) => h.b.remove(name)],
    ];
    for (const [what, call] of calls) {
      const foreign = await answer(() => call('acme-secret-plan'), 'acme-secret-plan');
      const missing = await answer(() => call('never-made-plan'), 'never-made-plan');
      expect({ what, answer: foreign }).toEqual({ what, answer: missing });
      expect(foreign).toMatchObject({ code: 'E11_UNKNOWN_SCHEDULE' });
    }
    expect(await h.b.list()).toEqual([]);
    // A's schedule is as A left it, and has no runs.
    expect(await h.a.get('acme-secret-plan')).toMatchObject({ enabled: true, lastRun: null });
    expect(await h.a.runs('acme-secret-plan')).toEqual([]);
  });

  it('the unscoped tick fires each tenant’s schedule into its own tenant, apart from an untenanted one', async () => {
    const h = await tenants();
    const hourly = { name: 'hourly', cron: '0 * * * *', jobName: 'sync', params: [{ n: 1 }] };
    await h.a.upsert(hourly);
    await h.b.upsert(hourly);
    await h.schedules.upsert(hourly); // the operator's own, untenanted schedule of the same name

    h.clock.set('2026-03-10T11:00:05Z');
    const results = await h.schedules.tick();
    expect(results.map((result) => result.outcome)).toEqual(['launched', 'launched', 'launched']);
    const tenantOf = async (id: string | null) => (await h.service.getOrchestration(id ?? '')).tenant;
    const fired = await Promise.all(results.map((result) => tenantOf(result.orchestrationId)));
    expect(fired.sort()).toEqual(['Globex.EU_1', 'acme', null].sort());
    const [runA] = await h.a.runs('hourly');
    const [runB] = await h.b.runs('hourly');
    const [runOps] = await h.schedules.runs('hourly');
    expect(await tenantOf(runA?.orchestrationId ?? null)).toBe('acme');
    expect(await tenantOf(runB?.orchestrationId ?? null)).toBe('Globex.EU_1');
    expect(await tenantOf(runOps?.orchestrationId ?? null)).toBeNull();

    // The untenanted run ends; the tenants' runs are still going. Overlap (skip) looks at the
    // schedule's own orchestrations only: the untenanted one launches, each tenant's is skipped.
    await h.finish(runOps?.orchestrationId ?? '');
    h.clock.set('2026-03-10T12:00:05Z');
    const next = await h.schedules.tick();
    expect(next.map((result) => result.outcome).sort()).toEqual(['launched', 'skipped', 'skipped']);
    expect((await h.schedules.runs('hourly'))[0]).toMatchObject({ outcome: 'launched' });
    expect((await h.a.runs('hourly'))[0]).toMatchObject({ outcome: 'skipped' });
    expect((await h.b.runs('hourly'))[0]).toMatchObject({ outcome: 'skipped' });
  });

  it('the local scheduler fires both tenants’ schedules of one name', async () => {
    const h = await tenants();
    await h.a.upsert(nightlyA);
    await h.b.upsert({ ...nightlyB, cron: '0 3 * * *' });
    h.clock.set('2026-03-11T03:00:02Z');

    const launched = await new Promise<TickResult[]>((resolve, reject) => {
      const scheduler = startLocalScheduler({
        service: h.service,
        intervalMs: 20,
        onError: reject,
        onTick: (results) => {
          if (results.filter((result) => result.outcome === 'launched').length < 2) return;
          scheduler.stop().then(() => resolve(results), reject);
        },
      });
    });
    expect(launched).toHaveLength(2);
    const [runA] = await h.a.runs('nightly');
    const [runB] = await h.b.runs('nightly');
    expect(runA).toMatchObject({ outcome: 'launched', firedAt: new Date('2026-03-11T03:00:00Z') });
    expect(runB).toMatchObject({ outcome: 'launched', firedAt: new Date('2026-03-11T03:00:00Z') });
    const a = await h.service.forTenant('acme').getOrchestration(runA?.orchestrationId ?? '');
    const b = await h.service.forTenant('Globex.EU_1').getOrchestration(runB?.orchestrationId ?? '');
    expect(a.id).not.toBe(b.id);
  });

  it('gives each tenant its own Cloud Scheduler job, whose tick body names the tenant', async () => {
    const h = await testbed.harness('2026-03-10T10:20:00Z');
    const wiring = {
      client: server.client(),
      projectId: 'demo-e11',
      location: 'europe-west1',
      targetUrl: 'https://tick.example/',
      serviceAccountEmail: 'e11-scheduler@demo-e11.iam.gserviceaccount.com',
      jobIdPrefix: 'ts-',
    };
    const a = new Schedules(h.service.forTenant('acme'), { cloudScheduler: wiring });
    const b = new Schedules(h.service.forTenant('Globex.EU_1'), { cloudScheduler: wiring });
    const ops = new Schedules(h.service, { cloudScheduler: wiring });
    const savedA: ScheduleInfo = await a.upsert(nightlyA);
    const savedB = await b.upsert(nightlyB);
    const savedOps = await ops.upsert(nightlyA);

    const parent = 'projects/demo-e11/locations/europe-west1/jobs/';
    expect(savedOps.cloudSchedulerJob).toBe(`${parent}ts-nightly`); // unchanged for untenanted schedules
    const jobs = [savedA.cloudSchedulerJob, savedB.cloudSchedulerJob, savedOps.cloudSchedulerJob];
    expect(new Set(jobs).size).toBe(3);
    for (const job of jobs)
      expect(job).toMatch(/^projects\/[^/]+\/locations\/[^/]+\/jobs\/[A-Za-z0-9_-]{1,500}$/);
    const body = (job: string | null) =>
      JSON.parse(server.jobs.get(job ?? '')?.httpTarget?.body?.toString('utf8') ?? '') as unknown;
    expect(body(savedA.cloudSchedulerJob)).toEqual({ scheduleName: 'nightly', tenant: 'acme' });
    expect(body(savedB.cloudSchedulerJob)).toEqual({ scheduleName: 'nightly', tenant: 'Globex.EU_1' });
    expect(body(savedOps.cloudSchedulerJob)).toEqual({ scheduleName: 'nightly' });

    await b.pause('nightly');
    expect(server.jobs.get(savedA.cloudSchedulerJob ?? '')?.state).toBe('ENABLED');
    await b.remove('nightly');
    expect(server.jobs.has(savedB.cloudSchedulerJob ?? '')).toBe(false);
    expect(server.jobs.has(savedA.cloudSchedulerJob ?? '')).toBe(true);
    expect(server.jobs.has(savedOps.cloudSchedulerJob ?? '')).toBe(true);
    await Promise.all([a.close(), b.close(), ops.close()]);
  });
});
