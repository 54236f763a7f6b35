import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { E11Error, ErrorCode } from '../errors.js';

/** The environment variables the region is read from. */
export type RegionEnv = Readonly<Record<string, string | undefined>>;

/** Reads a UTF-8 file, or returns undefined when it cannot be read. */
export type ReadTextFile = (path: string) => string | undefined;

/** The environment variables that name a Cloud Run region, in the order they are read. */
export const REGION_ENV_NAMES = [
  'E11_REGION',
  'CLOUD_RUN_REGION',
  'CLOUDSDK_RUN_REGION',
  'CLOUDSDK_COMPUTE_REGION',
] as const;

/** How to set the region, for error messages and hints. */
export const REGION_HOW_TO =
  'set the `region` option (`--region` of the e11 CLI), E11_REGION, or `gcloud config set run/region <region>`';

function readTextFile(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    // A missing or unreadable gcloud configuration is the same as none: the region comes from elsewhere.
    return undefined;
  }
}

/**
 * Parses the INI text of a gcloud configuration file (`[section]` headers, `key = value` lines,
 * `#` / `;` comments): section → key → value. Keys before any section are ignored, as gcloud does.
 */
export function parseGcloudConfig(text: string): Record<string, Record<string, string>> {
  const sections: Record<string, Record<string, string>> = {};
  let current: Record<string, string> | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      const name = (header[1] as string).trim();
      current = sections[name] ??= {};
      continue;
    }
    const separator = line.search(/[=:]/);
    if (separator <= 0 || current === undefined) continue;
    current[line.slice(0, separator).trim()] = line.slice(separator + 1).trim();
  }
  return sections;
}

/** The gcloud configuration directory: CLOUDSDK_CONFIG, else `%APPDATA%\gcloud` or `~/.config/gcloud`. */
export function gcloudConfigDir(env: RegionEnv): string | undefined {
  if (env.CLOUDSDK_CONFIG) return env.CLOUDSDK_CONFIG;
  if (env.APPDATA && !env.HOME) return join(env.APPDATA, 'gcloud');
  return env.HOME ? join(env.HOME, '.config', 'gcloud') : undefined;
}

/**
 * The sections of the active gcloud configuration (`CLOUDSDK_ACTIVE_CONFIG_NAME`, else the
 * `active_config` file, else `default`), or undefined when there is none.
 */
export function activeGcloudConfig(
  env: RegionEnv,
  read: ReadTextFile = readTextFile,
): Record<string, Record<string, string>> | undefined {
  const dir = gcloudConfigDir(env);
  if (dir === undefined) return undefined;
  const active = env.CLOUDSDK_ACTIVE_CONFIG_NAME || read(join(dir, 'active_config'))?.trim() || 'default';
  const text = read(join(dir, 'configurations', `config_${active}`));
  return text === undefined ? undefined : parseGcloudConfig(text);
}

/** One property of the active gcloud configuration (`core`, `project` → `gcloud config get core/project`). */
export function gcloudConfigProperty(
  env: RegionEnv,
  section: string,
  key: string,
  read: ReadTextFile = readTextFile,
): string | undefined {
  return activeGcloudConfig(env, read)?.[section]?.[key] || undefined;
}

/** The region of the active gcloud configuration: its `[run] region`, else its `[compute] region`. */
export function gcloudConfigRegion(env: RegionEnv, read: ReadTextFile = readTextFile): string | undefined {
  const config = activeGcloudConfig(env, read);
  return config?.run?.region || config?.compute?.region || undefined;
}

/**
 * The Cloud Run region: `region` when given, else the first of E11_REGION, CLOUD_RUN_REGION,
 * CLOUDSDK_RUN_REGION, CLOUDSDK_COMPUTE_REGION set in `env`, else the active gcloud configuration's
 * `run/region` or `compute/region` (read from CLOUDSDK_CONFIG or the home directory of `env`).
 * Undefined when none names one: there is no default region.
 */
export function resolveRegion(
  region: string | undefined,
  env: RegionEnv = process.env,
  read: ReadTextFile = readTextFile,
): string | undefined {
  if (region !== undefined) return region;
  for (const name of REGION_ENV_NAMES) {
    const value = env[name];
    if (value) return value;
  }
  return gcloudConfigRegion(env, read);
}

/** Cloud Run's rule for region names (`europe-west1`, `us-central1`, `me-central2`…). */
const REGION_NAME = /^[a-z]+(-[a-z]+)*\d+$/;

/**
 * {@link resolveRegion}, required: throws `E11_INVALID_OPTIONS` (path `region`) when nothing names a
 * region or the name is not a region name. `what` says who needs it, for the message.
 */
export function requireRegion(
  region: string | undefined,
  env: RegionEnv = process.env,
  what = 'Launching on Cloud Run',
  read: ReadTextFile = readTextFile,
): string {
  const resolved = resolveRegion(region, env, read);
  if (resolved === undefined) {
    throw new E11Error(
      ErrorCode.InvalidOptions,
      `region: ${what} needs a Cloud Run region; ${REGION_HOW_TO}.`,
      {
        context: { path: 'region', hint: `For example: export E11_REGION=europe-west1` },
      },
    );
  }
  if (!REGION_NAME.test(resolved)) {
    throw new E11Error(ErrorCode.InvalidOptions, `region: '${resolved}' is not a Cloud Run region name.`, {
      context: { path: 'region' },
    });
  }
  return resolved;
}
