import { describe, expect, it } from 'vitest';

import { compileScheduleDefinition, type ScheduleDefinition } from './schedule-definition.js';

const valid: ScheduleDefinition = {
  name: 'nightly-report',
  cron: '0 3 * * *',
  timeZone: 'Europe/Paris',
  jobName: 'build_report',
  params: [{ day: 'today' }],
};

function rejects(input: unknown, code: string, path?: string, context = {}) {
  let thrown: unknown;
  try {
    compileScheduleDefinition(input, context);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toMatchObject({
    code,
    ...(path === undefined ? {} : { context: expect.objectContaining({ path }) as unknown }),
  });
}

describe('compileScheduleDefinition', () => {
  it('fills the defaults: UTC, overlap skip, enabled, no kick-off options', () => {
    const { schedule: _schedule, ...compiled } = compileScheduleDefinition({ ...valid, timeZone: undefined });
    expect(compiled).toEqual({
      name: 'nightly-report',
      cron: '0 3 * * *',
      timeZone: 'UTC',
      jobName: 'build_report',
      params: [{ day: 'today' }],
      paramsFactory: null,
      overlap: 'skip',
      enabled: true,
      kickOff: {},
    });
  });

  it('keeps kick-off options without the keys given as undefined', () => {
    const compiled = compileScheduleDefinition({
      ...valid,
      kickOff: { tags: { team: 'ops' }, mode: 'array', timeout: '10m', topic: undefined },
    });
    expect(compiled.kickOff).toEqual({ tags: { team: 'ops' }, mode: 'array', timeout: '10m' });
  });

  it.each([
    [{ ...valid, name: 'Nightly' }, 'E11_INVALID_SCHEDULE', 'name'],
    [{ ...valid, name: '9-lives' }, 'E11_INVALID_SCHEDULE', 'name'],
    [{ ...valid, name: 'x'.repeat(64) }, 'E11_INVALID_SCHEDULE', 'name'],
    [{ ...valid, cron: 'every day' }, 'E11_INVALID_SCHEDULE', 'cron'],
    [{ ...valid, timeZone: 'Mars/Base' }, 'E11_INVALID_SCHEDULE', 'timeZone'],
    [{ ...valid, overlap: 'queue' }, 'E11_INVALID_SCHEDULE', 'overlap'],
    [{ ...valid, enabled: 'yes' }, 'E11_INVALID_SCHEDULE', 'enabled'],
    [{ ...valid, every: '5m' }, 'E11_INVALID_SCHEDULE', 'every'],
    [{ ...valid, paramsFactory: 'daily' }, 'E11_INVALID_SCHEDULE', 'params'],
    [{ ...valid, params: undefined }, 'E11_INVALID_SCHEDULE', 'params'],
    [{ ...valid, params: undefined, paramsFactory: 'no spaces' }, 'E11_INVALID_SCHEDULE', 'paramsFactory'],
    [{ ...valid, params: [] }, 'E11_INVALID_PARAMS', undefined],
    [{ ...valid, params: [{ at: new Date() }] }, 'E11_INVALID_PARAMS', 'params[0].at'],
    [{ ...valid, jobName: 'build report' }, 'E11_INVALID_JOB_NAME', undefined],
    [{ ...valid, jobName: 'report_' }, 'E11_INVALID_JOB_NAME', undefined],
    [{ ...valid, kickOff: { idempotencyKey: 'k' } }, 'E11_INVALID_SCHEDULE', 'kickOff.idempotencyKey'],
    [{ ...valid, kickOff: { mode: 'batch' } }, 'E11_INVALID_OPTIONS', 'kickOff.mode'],
    [{ ...valid, kickOff: { timeout: '10 minutes' } }, 'E11_INVALID_OPTIONS', 'kickOff.timeout'],
    [{ ...valid, kickOff: { tags: { 'goog-x': 'y' } } }, 'E11_INVALID_OPTIONS', 'tags.goog-x'],
  ])('rejects %j with %s naming %s', (input, code, path) => {
    rejects(input, code, path);
  });

  it('rejects job names outside knownJobNames as unknown, when the list is given', () => {
    rejects({ ...valid, jobName: 'build_reports' }, 'E11_UNKNOWN_JOB_NAME', 'jobName', {
      knownJobNames: ['build_report'],
    });
    expect(compileScheduleDefinition(valid, { knownJobNames: ['build_report'] }).jobName).toBe(
      'build_report',
    );
  });

  it('rejects a paramsFactory missing from the registry, when one is given', () => {
    const input = { ...valid, params: undefined, paramsFactory: 'yesterday' };
    rejects(input, 'E11_INVALID_SCHEDULE', 'paramsFactory', { paramsFactories: { today: () => [] } });
    expect(compileScheduleDefinition(input).paramsFactory).toBe('yesterday');
  });
});
