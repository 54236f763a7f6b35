import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type CloudSchedulerServer, startCloudSchedulerServer } from './helpers/cloud-scheduler-server.js';
import { scheduleTestbed } from './helpers/schedule-harness.js';

const testbed = scheduleTestbed('schedules-cloud-scheduler');
let server: CloudSchedulerServer;
beforeAll(async () => {
  server = await startCloudSchedulerServer();
});
afterAll(async () => {
  await server.close();
  await testbed.close();
});

const TARGET = 'https://scheduler-tick-abc123-uc.a.run.app/';
const ACCOUNT = 'e11-scheduler@demo-e11.iam.gserviceaccount.com';
const hourly = { cron: '0 * * * *', timeZone: 'Europe/Paris', jobName: 'sync', params: [{ a: 1 }] };

async function wired(jobIdPrefix: string) {
  const h = await testbed.harness('2026-02-01T10:20:00Z', {
    schedules: {
      cloudScheduler: {
        client: server.client(),
        projectId: 'demo-e11',
        location: 'europe-west1',
        targetUrl: TARGET,
        serviceAccountEmail: ACCOUNT,
        jobIdPrefix,
      },
    },
  });
  const jobName = (name: string) => `projects/demo-e11/locations/europe-west1/jobs/${jobIdPrefix}${name}`;
  const callsFrom = server.calls.length;
  const calls = () =>
    server.calls
      .slice(callsFrom)
      .map((call) => [
        call.method,
        call.request.name ?? (call.request.job as { name?: string } | undefined)?.name,
      ]);
  return { ...h, jobName, calls };
}

describe('Cloud Scheduler wiring', () => {
  it('creates a Cloud Scheduler job that POSTs the schedule name to the tick function with an OIDC token', async () => {
    const h = await wired('a-');
    const schedule = await h.schedules.upsert({ ...hourly, name: 'hourly' });

    const name = h.jobName('hourly');
    expect(schedule.cloudSchedulerJob).toBe(name);
    expect(h.calls()).toEqual([
      ['GetJob', name], // not found: the job is new
      ['CreateJob', name],
    ]);
    const create = server.calls.find(
      (call) => call.method === 'CreateJob' && (call.request.job as { name: string }).name === name,
    );
    expect(create?.request.parent).toBe('projects/demo-e11/locations/europe-west1');
    const job = server.jobs.get(name);
    expect(job).toMatchObject({
      schedule: '0 * * * *',
      timeZone: 'Europe/Paris',
      state: 'ENABLED',
      httpTarget: {
        uri: TARGET,
        httpMethod: 'POST',
        headers: { 'Content-Type': 'application/json' },
        oidcToken: { serviceAccountEmail: ACCOUNT, audience: TARGET },
      },
      retryConfig: { retryCount: 3 },
      attemptDeadline: { seconds: '1800' },
    });
    expect(JSON.parse(job?.httpTarget?.body?.toString('utf8') ?? '')).toEqual({ scheduleName: 'hourly' });
  });

  it('updates the job in place when the schedule changes, keeping its paused state in step', async () => {
    const h = await wired('b-');
    await h.schedules.upsert({ ...hourly, name: 'report' });
    await h.schedules.upsert({ ...hourly, name: 'report', cron: '15 4 * * 1-5', enabled: false });

    const name = h.jobName('report');
    expect(h.calls()).toEqual([
      ['GetJob', name],
      ['CreateJob', name],
      ['GetJob', name], // the job is this schedule's: updated in place
      ['UpdateJob', name],
      ['PauseJob', name],
    ]);
    expect(server.jobs.get(name)).toMatchObject({ schedule: '15 4 * * 1-5', state: 'PAUSED' });
    expect(await h.schedules.get('report')).toMatchObject({ enabled: false, cron: '15 4 * * 1-5' });
  });

  it('pauses, resumes and deletes the job with the schedule', async () => {
    const h = await wired('c-');
    await h.schedules.upsert({ ...hourly, name: 'hourly' });
    const name = h.jobName('hourly');

    await h.schedules.pause('hourly');
    expect(server.jobs.get(name)?.state).toBe('PAUSED');
    await h.schedules.resume('hourly');
    expect(server.jobs.get(name)?.state).toBe('ENABLED');
    await h.schedules.remove('hourly');
    expect(server.jobs.has(name)).toBe(false);
    expect(h.calls().slice(2)).toEqual([
      ['GetJob', name],
      ['PauseJob', name],
      ['GetJob', name],
      ['ResumeJob', name],
      ['GetJob', name],
      ['DeleteJob', name],
    ]);
    expect(await h.schedules.list()).toEqual([]);
  });

  it('sends nothing to Cloud Scheduler for bad input', async () => {
    const h = await wired('d-');
    await expect(h.schedules.upsert({ ...hourly, name: 'bad', cron: '* * *' })).rejects.toMatchObject({
      code: 'E11_INVALID_SCHEDULE',
    });
    await expect(h.schedules.upsert({ ...hourly, name: 'bad', params: [] })).rejects.toMatchObject({
      code: 'E11_INVALID_PARAMS',
    });
    expect(h.calls()).toEqual([]);
  });

  it('stores nothing when Cloud Scheduler refuses or is unavailable, with typed errors keeping the gRPC code', async () => {
    const h = await wired('e-');
    server.failNext('CreateJob', 14, 'backend unavailable');
    await expect(h.schedules.upsert({ ...hourly, name: 'hourly' })).rejects.toMatchObject({
      code: 'E11_UNAVAILABLE',
      retryable: true,
      context: { grpcCode: 14 },
    });
    server.failNext('CreateJob', 3, 'Schedule has more than 5 fields');
    await expect(h.schedules.upsert({ ...hourly, name: 'hourly' })).rejects.toMatchObject({
      code: 'E11_INVALID_SCHEDULE',
      retryable: false,
      context: { grpcCode: 3 },
    });
    expect(await h.schedules.list()).toEqual([]);
    expect(server.jobs.has(h.jobName('hourly'))).toBe(false);
  });

  it('creates a missing job when a schedule stored before the wiring is resumed', async () => {
    const h = await wired('f-');
    await h.service.schedules.upsert({ ...hourly, name: 'legacy', enabled: false }); // no Cloud Scheduler wiring
    expect(h.calls()).toEqual([]);

    const resumed = await h.schedules.resume('legacy');
    const name = h.jobName('legacy');
    expect(h.calls()).toEqual([
      ['GetJob', name], // not found: created from the stored schedule
      ['GetJob', name],
      ['CreateJob', name],
    ]);
    expect(server.jobs.get(name)?.state).toBe('ENABLED');
    expect(resumed).toMatchObject({ enabled: true, cloudSchedulerJob: name });
  });

  it("never changes, pauses or deletes a Cloud Scheduler job it did not create (the sweeper's e11-sweep)", async () => {
    // What deploy/deploy.sh creates for the sweeper: a POST to the sweep function, no schedule body.
    const sweepJob = 'projects/demo-e11/locations/europe-west1/jobs/g-sweep';
    const sweeper = {
      name: sweepJob,
      schedule: '* * * * *',
      httpTarget: { uri: 'https://e11-sweep-abc123-ew.a.run.app/', httpMethod: 'POST' as const },
    };
    await server.client().createJob({ parent: 'projects/demo-e11/locations/europe-west1', job: sweeper });
    const before = structuredClone(server.jobs.get(sweepJob));
    const h = await wired('g-');
    expect(h.jobName('sweep')).toBe(sweepJob);

    await expect(h.schedules.upsert({ ...hourly, name: 'sweep' })).rejects.toMatchObject({
      code: 'E11_INVALID_SCHEDULE',
      context: { path: 'name', cloudSchedulerJob: sweepJob },
    });
    expect(await h.schedules.list()).toEqual([]);

    // A schedule of that name stored before the wiring can neither pause it nor delete it.
    await h.service.schedules.upsert({ ...hourly, name: 'sweep' });
    await expect(h.schedules.pause('sweep')).rejects.toMatchObject({ code: 'E11_INVALID_SCHEDULE' });
    expect(await h.schedules.get('sweep')).toMatchObject({ enabled: true });
    await h.schedules.remove('sweep');
    expect(await h.schedules.list()).toEqual([]);

    expect(server.jobs.get(sweepJob)).toEqual(before);
    expect(h.calls().filter(([method]) => method !== 'GetJob')).toEqual([]);
  });
});
