import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  gcloudConfigProperty,
  gcloudConfigRegion,
  parseGcloudConfig,
  requireRegion,
  resolveRegion,
} from './region.js';

describe('parseGcloudConfig', () => {
  it('reads sections and keys as gcloud writes them, with comments, blank lines and both separators', () => {
    const text = [
      '# written by gcloud',
      'stray = ignored',
      '[core]',
      'account = me@example.com',
      'project = my-proj',
      '',
      '; a comment',
      '[run]',
      'region=europe-west1',
      '[ compute ]',
      'region: us-east4',
      'zone = us-east4-a',
      'url = https://example.com/a=b',
    ].join('\r\n');
    expect(parseGcloudConfig(text)).toEqual({
      core: { account: 'me@example.com', project: 'my-proj' },
      run: { region: 'europe-west1' },
      compute: { region: 'us-east4', zone: 'us-east4-a', url: 'https://example.com/a=b' },
    });
  });

  it('gives nothing for an empty file', () => {
    expect(parseGcloudConfig('')).toEqual({});
  });
});

describe('gcloudConfigRegion', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'e11-gcloud-'));
    await mkdir(join(dir, 'configurations'));
    await writeFile(join(dir, 'active_config'), 'work\n');
    await writeFile(
      join(dir, 'configurations', 'config_work'),
      '[core]\nproject = p\n[compute]\nregion = asia-east1\n',
    );
    await writeFile(
      join(dir, 'configurations', 'config_default'),
      '[compute]\nregion = us-east4\n[run]\nregion = europe-west1\n',
    );
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reads the active configuration's compute/region from CLOUDSDK_CONFIG", () => {
    expect(gcloudConfigRegion({ CLOUDSDK_CONFIG: dir })).toBe('asia-east1');
  });

  it('prefers run/region over compute/region, and CLOUDSDK_ACTIVE_CONFIG_NAME over active_config', () => {
    expect(gcloudConfigRegion({ CLOUDSDK_CONFIG: dir, CLOUDSDK_ACTIVE_CONFIG_NAME: 'default' })).toBe(
      'europe-west1',
    );
  });

  it('reads any property of the active configuration (core/project)', () => {
    expect(gcloudConfigProperty({ CLOUDSDK_CONFIG: dir }, 'core', 'project')).toBe('p');
    expect(gcloudConfigProperty({ CLOUDSDK_CONFIG: dir }, 'core', 'account')).toBeUndefined();
  });

  it('finds ~/.config/gcloud from HOME', async () => {
    const home = await mkdtemp(join(tmpdir(), 'e11-home-'));
    try {
      await mkdir(join(home, '.config', 'gcloud', 'configurations'), { recursive: true });
      // No active_config file: gcloud's configuration is then `default`.
      await writeFile(
        join(home, '.config', 'gcloud', 'configurations', 'config_default'),
        '[run]\nregion = me-west1\n',
      );
      expect(gcloudConfigRegion({ HOME: home })).toBe('me-west1');
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });

  it('gives undefined without a configuration, or one without a region', () => {
    expect(gcloudConfigRegion({})).toBeUndefined();
    expect(gcloudConfigRegion({ CLOUDSDK_CONFIG: join(dir, 'missing') })).toBeUndefined();
    expect(gcloudConfigRegion({ CLOUDSDK_CONFIG: dir, CLOUDSDK_ACTIVE_CONFIG_NAME: 'none' })).toBeUndefined();
    expect(gcloudConfigRegion({ CLOUDSDK_CONFIG: '/cfg' }, () => '[core]\nproject = p\n')).toBeUndefined();
  });
});

describe('resolveRegion / requireRegion', () => {
  const gcloud = (path: string) =>
    path.endsWith('config_default') ? '[run]\nregion = europe-west9\n' : undefined;

  it('puts the option, then the variables, then the gcloud configuration', () => {
    const env = { CLOUDSDK_CONFIG: '/cfg', CLOUDSDK_COMPUTE_REGION: 'asia-east3' };
    expect(resolveRegion('us-east4', env, gcloud)).toBe('us-east4');
    expect(resolveRegion(undefined, env, gcloud)).toBe('asia-east3');
    expect(resolveRegion(undefined, { ...env, CLOUDSDK_COMPUTE_REGION: '' }, gcloud)).toBe('europe-west9');
    expect(resolveRegion(undefined, {}, gcloud)).toBeUndefined();
  });

  it('requireRegion throws E11_INVALID_OPTIONS saying how to set it when nothing names a region', () => {
    let error: unknown;
    try {
      requireRegion(undefined, {}, 'e11 retry');
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toMatchObject({ code: 'E11_INVALID_OPTIONS', context: { path: 'region' } });
    expect((error as Error).message).toMatch(/^region: e11 retry needs a Cloud Run region; .*E11_REGION/);
    expect(requireRegion(undefined, { CLOUDSDK_CONFIG: '/cfg' }, 'x', gcloud)).toBe('europe-west9');
  });
});
