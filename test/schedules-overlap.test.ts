import { E11Error, ErrorCode } from '@e11/core';
import { runScheduleTick, type ScheduleService } from '@e11/core/engine';
import { type KickOffResult } from '@e11/sdk';
import { afterAll, describe, expect, it } from 'vitest';

import { type KickOffByName, type ScheduleHarness, scheduleTestbed } from './helpers/schedule-harness.js';

const testbed = scheduleTestbed('schedules-overlap');
afterAll(() => testbed.close());

const MINUTE = 60_000;
const unavailable = () => new E11Error(ErrorCode.Unavailable, 'Firestore unavailable', { retryable: true });

/** The harness's service with its kick-off replaced, the way a tick in another process would see Firestore fail. */
function withKickOff(h: ScheduleHarness, kickOffJob: KickOffByName): ScheduleService {
  return h.withKickOff(kickOffJob);
}

const everyMinute = { name: 'every-minute', cron: '* * * * *', jobName: 'sync', params: [{ a: 1 }] };

describe('overlap prevention', () => {
  it('skips a tick while the previous run is still in progress, then launches once it has ended', async () => {
    const h = await testbed.harness('2026-06-01T12:00:30Z');
    await h.schedules.upsert({ ...everyMinute, overlap: 'skip' });

    h.clock.advance(MINUTE);
    const [first] = await h.schedules.tick();
    expect(first).toMatchObject({ outcome: 'launched', fireTime: '2026-06-01T12:01:00.000Z' });
    expect((await h.service.getOrchestration(first?.orchestrationId ?? '')).status).toBe('InProgress');

    h.clock.advance(MINUTE);
    const [second] = await h.schedules.tick();
    expect(second).toMatchObject({
      outcome: 'skipped',
      orchestrationId: null,
      reason: `previous run's orchestration ${first?.orchestrationId} is still InProgress`,
    });
    expect(h.launcher.requests).toHaveLength(1);

    await h.finish(first?.orchestrationId ?? '');
    expect((await h.service.getOrchestration(first?.orchestrationId ?? '')).status).toBe('Completed');
    h.clock.advance(MINUTE);
    const [third] = await h.schedules.tick();
    expect(third).toMatchObject({ outcome: 'launched', fireTime: '2026-06-01T12:03:00.000Z' });
    expect(h.launcher.requests).toHaveLength(2);

    const runs = await h.schedules.runs('every-minute');
    expect(
      runs.map(({ firedAt, outcome, skipped, orchestrationStatus }) => [
        firedAt.toISOString(),
        outcome,
        skipped,
        orchestrationStatus,
      ]),
    ).toEqual([
      ['2026-06-01T12:03:00.000Z', 'launched', false, 'InProgress'],
      ['2026-06-01T12:02:00.000Z', 'skipped', true, null],
      ['2026-06-01T12:01:00.000Z', 'launched', false, 'Completed'],
    ]);
    const schedule = await h.schedules.get('every-minute');
    expect(schedule.lastOrchestrationId).toBe(third?.orchestrationId);
    expect(schedule.lastRun).toMatchObject({ outcome: 'launched', orchestrationId: third?.orchestrationId });
  });

  it('cancels the previous run before launching with cancel-previous', async () => {
    const h = await testbed.harness('2026-06-01T12:00:30Z');
    await h.schedules.upsert({ ...everyMinute, overlap: 'cancel-previous' });

    h.clock.advance(MINUTE);
    const [first] = await h.schedules.tick();
    h.clock.advance(MINUTE);
    const [second] = await h.schedules.tick();

    expect(second).toMatchObject({ outcome: 'launched' });
    expect(second?.orchestrationId).not.toBe(first?.orchestrationId);
    expect((await h.service.getOrchestration(first?.orchestrationId ?? '')).status).toBe('Cancelled');
    expect((await h.service.getOrchestration(second?.orchestrationId ?? '')).status).toBe('InProgress');
    expect(h.launcher.cancelled).toEqual(['projects/p/locations/r/jobs/sync/executions/e1']);
  });

  it('launches while the previous run is still going with allow', async () => {
    const h = await testbed.harness('2026-06-01T12:00:30Z');
    await h.schedules.upsert({ ...everyMinute, overlap: 'allow' });

    h.clock.advance(MINUTE);
    const [first] = await h.schedules.tick();
    h.clock.advance(MINUTE);
    const [second] = await h.schedules.tick();

    expect([first?.outcome, second?.outcome]).toEqual(['launched', 'launched']);
    expect((await h.service.getOrchestration(first?.orchestrationId ?? '')).status).toBe('InProgress');
    expect(h.launcher.requests).toHaveLength(2);
  });
});

describe('overlap prevention under concurrency and failures', () => {
  it('skips a run that starts while another run of the schedule is still being launched', async () => {
    const h = await testbed.harness('2026-06-01T12:00:30Z');
    await h.schedules.upsert({ ...everyMinute, overlap: 'skip' });
    // The 12:01 tick is held between its overlap check and its kick-off: nothing is registered yet.
    let entered!: () => void;
    const kickOffEntered = new Promise<void>((resolve) => (entered = resolve));
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const held = withKickOff(h, async (...args) => {
      entered();
      await gate;
      return h.service.kickOffJob(...args);
    });

    h.clock.set('2026-06-01T12:01:05Z');
    const first = runScheduleTick({ service: held }, { scheduleName: 'every-minute' });
    await kickOffEntered;
    expect((await h.schedules.get('every-minute')).launching).toEqual({
      runId: '2026-06-01T12:01:00.000Z',
      since: new Date('2026-06-01T12:01:05Z'),
    });
    expect(await h.schedules.trigger('every-minute')).toMatchObject({
      outcome: 'skipped',
      reason: 'run 2026-06-01T12:01:00.000Z of this schedule is still being launched',
    });
    expect(h.launcher.requests).toHaveLength(0);

    open();
    expect(await first).toMatchObject([{ outcome: 'launched', fireTime: '2026-06-01T12:01:00.000Z' }]);
    expect((await h.schedules.get('every-minute')).launching).toBeNull();
    h.clock.set('2026-06-01T12:02:05Z');
    expect(await h.schedules.tick()).toMatchObject([
      { outcome: 'skipped', fireTime: '2026-06-01T12:02:00.000Z' },
    ]);
    expect(h.launcher.requests).toHaveLength(1);
  });

  it('sees an orchestration whose run was never recorded, and lets the retry of that fire record it', async () => {
    const h = await testbed.harness('2026-06-01T12:00:30Z');
    await h.schedules.upsert({ ...everyMinute, overlap: 'skip' });
    // The kick-off happens, then the tick loses Firestore before it records the run.
    const answerLost = withKickOff(h, async (...args) => {
      await h.service.kickOffJob(...args);
      throw unavailable();
    });

    h.clock.set('2026-06-01T12:01:05Z');
    await expect(runScheduleTick({ service: answerLost })).rejects.toMatchObject({ code: 'E11_UNAVAILABLE' });
    expect(h.launcher.requests).toHaveLength(1);
    expect(await h.schedules.runs('every-minute')).toMatchObject([
      { outcome: 'pending', orchestrationId: null },
    ]);

    h.clock.set('2026-06-01T12:02:05Z');
    const [next] = await h.schedules.tick();
    expect(next).toMatchObject({ outcome: 'skipped', fireTime: '2026-06-01T12:02:00.000Z' });
    expect(next?.reason).toMatch(/^previous run's orchestration \S+ is still InProgress$/);

    // Cloud Scheduler retries the 12:01 fire: its own orchestration is not a "previous run".
    const [retried] = await h.schedules.tick({
      scheduleName: 'every-minute',
      fireTime: new Date('2026-06-01T12:01:00Z'),
    });
    expect(retried).toMatchObject({
      outcome: 'launched',
      reason: 'kick-off deduplicated: an earlier tick had launched it',
    });
    expect(next?.reason).toContain(retried?.orchestrationId ?? 'missing');
    expect(h.launcher.requests).toHaveLength(1);
    const runs = await h.schedules.runs('every-minute');
    expect(runs.map(({ id, outcome, orchestrationStatus }) => [id, outcome, orchestrationStatus])).toEqual([
      ['2026-06-01T12:02:00.000Z', 'skipped', null],
      ['2026-06-01T12:01:00.000Z', 'launched', 'InProgress'],
    ]);
  });

  it('does not let a tick that died while launching hold the schedule beyond the run lease', async () => {
    const h = await testbed.harness('2026-06-01T12:00:30Z');
    await h.schedules.upsert({ ...everyMinute, overlap: 'skip' });
    let reached!: () => void;
    const kickOffReached = new Promise<void>((resolve) => (reached = resolve));
    let fail!: (error: unknown) => void;
    const stuck = withKickOff(h, () => {
      reached();
      return new Promise<KickOffResult>((_resolve, reject) => (fail = reject));
    });

    h.clock.set('2026-06-01T12:01:05Z');
    const stuckTick = runScheduleTick({ service: stuck });
    await kickOffReached;

    h.clock.set('2026-06-01T12:02:05Z'); // within the lease: the stuck run is still being launched
    expect(await h.schedules.tick()).toMatchObject([
      { outcome: 'skipped', reason: 'run 2026-06-01T12:01:00.000Z of this schedule is still being launched' },
    ]);
    h.clock.set('2026-06-01T12:15:05Z'); // past the 10-minute lease: that tick is taken for dead
    const [later] = await h.schedules.tick();
    expect(later).toMatchObject({ outcome: 'launched', fireTime: '2026-06-01T12:15:00.000Z' });

    fail(unavailable()); // the stuck tick finally fails: it gives its run back without touching the new one
    await expect(stuckTick).rejects.toMatchObject({ code: 'E11_UNAVAILABLE' });
    const runs = await h.schedules.runs('every-minute');
    expect(runs.map((run) => [run.id, run.outcome])).toEqual([
      ['2026-06-01T12:15:00.000Z', 'launched'],
      ['2026-06-01T12:02:00.000Z', 'skipped'],
      ['2026-06-01T12:01:00.000Z', 'pending'],
    ]);
    expect(h.launcher.requests).toHaveLength(1);
    expect((await h.schedules.get('every-minute')).launching).toBeNull();
  });
});

describe('manual trigger', () => {
  it('runs a schedule now with its own idempotency key, respecting overlap unless forced', async () => {
    const h = await testbed.harness('2026-06-01T12:00:30Z');
    await h.schedules.upsert({ ...everyMinute, cron: '0 3 * * *', kickOff: { tags: { team: 'ops' } } });

    const first = await h.schedules.trigger('every-minute');
    expect(first).toMatchObject({ outcome: 'launched', runId: 'manual-2026-06-01T12:00:30.000Z' });
    const orchestration = await h.service.getOrchestration(first.orchestrationId ?? '');
    expect(orchestration.idempotencyKey).toBe('schedule:every-minute:manual:2026-06-01T12:00:30.000Z');
    expect(orchestration.tags).toEqual({ team: 'ops', schedule: 'every-minute' });

    h.clock.advance(1_000);
    expect(await h.schedules.trigger('every-minute')).toMatchObject({
      outcome: 'skipped',
      reason: expect.stringContaining('still InProgress') as unknown,
    });
    h.clock.advance(1_000);
    const forced = await h.schedules.trigger('every-minute', { force: true });
    expect(forced).toMatchObject({ outcome: 'launched' });
    expect(forced.orchestrationId).not.toBe(first.orchestrationId);
    expect(h.launcher.requests).toHaveLength(2);

    const runs = await h.schedules.runs('every-minute');
    expect(runs.map((run) => [run.trigger, run.outcome])).toEqual([
      ['manual', 'launched'],
      ['manual', 'skipped'],
      ['manual', 'launched'],
    ]);
    // A manual run is not a cron fire: the schedule's own fire times are untouched.
    expect((await h.schedules.get('every-minute')).lastFireAt).toBeNull();
  });

  it('runs a paused schedule on demand without resuming it', async () => {
    const h = await testbed.harness('2026-06-01T12:00:30Z');
    await h.schedules.upsert({ ...everyMinute, enabled: false });

    expect(await h.schedules.trigger('every-minute')).toMatchObject({ outcome: 'launched' });
    h.clock.advance(MINUTE);
    expect(await h.schedules.tick({ scheduleName: 'every-minute' })).toMatchObject([{ outcome: 'paused' }]);
    expect((await h.schedules.get('every-minute')).enabled).toBe(false);
    expect(h.launcher.requests).toHaveLength(1);
  });
});
