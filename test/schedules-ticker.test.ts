import { isE11Error } from '@e11/core';
import { Schedules } from '@e11/sdk';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { type CloudSchedulerServer, startCloudSchedulerServer } from './helpers/cloud-scheduler-server.js';
import { scheduleTestbed } from './helpers/schedule-harness.js';

const testbed = scheduleTestbed('schedules-ticker');
let server: CloudSchedulerServer;
beforeAll(async () => {
  server = await startCloudSchedulerServer();
});
afterAll(async () => {
  await server.close();
  await testbed.close();
});

// The suite declares an external ticker for every test (E11_SCHEDULE_TICKER); these tests run without.
let saved: string | undefined;
beforeEach(() => {
  saved = process.env.E11_SCHEDULE_TICKER;
  delete process.env.E11_SCHEDULE_TICKER;
});
afterEach(() => {
  if (saved === undefined) delete process.env.E11_SCHEDULE_TICKER;
  else process.env.E11_SCHEDULE_TICKER = saved;
});

const nightly = {
  name: 'nightly',
  cron: '0 2 * * *',
  timeZone: 'UTC',
  jobName: 'sync',
  params: [{ a: 1 }],
};

async function refusal(run: () => unknown): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a refusal');
}

describe('a schedule nothing would fire', () => {
  it('is refused by upsert with E11_INVALID_OPTIONS and a hint, and nothing is stored', async () => {
    const h = await testbed.harness('2026-02-01T10:20:00Z');
    const schedules = new Schedules(h.service);
    const error = await refusal(() => schedules.upsert(nightly));
    expect(isE11Error(error, 'E11_INVALID_OPTIONS')).toBe(true);
    expect(error).toMatchObject({ context: { path: 'ticker' } });
    expect((error as Error).message).toContain('cloudScheduler');
    expect((error as Error).message).toContain("ticker: 'external'");
    expect((error as { context: { hint?: unknown } }).context.hint).toContain('new Schedules(orchestrations');
    expect(await new Schedules(h.service, { ticker: 'external' }).list()).toEqual([]);
  });

  it("is refused through the service's built-in schedules too", async () => {
    const h = await testbed.harness('2026-02-01T10:20:00Z');
    const error = await refusal(() => h.service.schedules.upsert(nightly));
    expect(isE11Error(error, 'E11_INVALID_OPTIONS')).toBe(true);
  });

  it('resume is refused as well: it would make a schedule fire', async () => {
    const h = await testbed.harness('2026-02-01T10:20:00Z');
    await new Schedules(h.service, { ticker: 'external' }).upsert({ ...nightly, enabled: false });
    const error = await refusal(() => new Schedules(h.service).resume('nightly'));
    expect(isE11Error(error, 'E11_INVALID_OPTIONS')).toBe(true);
    // Reads, pause and manual triggers need no ticker.
    const unticked = new Schedules(h.service);
    expect((await unticked.get('nightly')).enabled).toBe(false);
    expect((await unticked.pause('nightly')).enabled).toBe(false);
    await unticked.remove('nightly');
    expect(await unticked.list()).toEqual([]);
  });

  it("is accepted with ticker: 'external', with E11_SCHEDULE_TICKER=external, and with Cloud Scheduler wiring", async () => {
    const h = await testbed.harness('2026-02-01T10:20:00Z');
    expect((await new Schedules(h.service, { ticker: 'external' }).upsert(nightly)).name).toBe('nightly');

    process.env.E11_SCHEDULE_TICKER = 'external';
    expect((await new Schedules(h.service).upsert({ ...nightly, name: 'from-env' })).name).toBe('from-env');
    delete process.env.E11_SCHEDULE_TICKER;

    const wired = new Schedules(h.service, {
      cloudScheduler: {
        client: server.client(),
        projectId: 'demo-e11',
        location: 'europe-west1',
        targetUrl: 'https://scheduler-tick-abc123-ew.a.run.app/',
        serviceAccountEmail: 'e11-scheduler@demo-e11.iam.gserviceaccount.com',
        jobIdPrefix: 'ticker-',
      },
    });
    const info = await wired.upsert({ ...nightly, name: 'wired' });
    expect(info.cloudSchedulerJob).toBe('projects/demo-e11/locations/europe-west1/jobs/ticker-wired');
    await wired.close();
  });

  it('refuses a ticker value other than external when the Schedules object is built', async () => {
    const h = await testbed.harness('2026-02-01T10:20:00Z');
    process.env.E11_SCHEDULE_TICKER = 'cron';
    expect(await refusal(() => new Schedules(h.service))).toMatchObject({
      code: 'E11_INVALID_OPTIONS',
      context: { path: 'E11_SCHEDULE_TICKER' },
    });
    expect(await refusal(() => new Schedules(h.service, { ticker: 'nope' as 'external' }))).toMatchObject({
      code: 'E11_INVALID_OPTIONS',
      context: { path: 'ticker' },
    });
  });
});
