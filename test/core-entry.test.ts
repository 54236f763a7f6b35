import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Every module URL a fresh Node process resolves while importing `entry` (ESM and CommonJS alike). */
async function modulesLoadedBy(entry: string): Promise<string[]> {
  const script = `
    import { registerHooks } from 'node:module';
    const urls = [];
    registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); urls.push(r.url); return r; } });
    await import(${JSON.stringify(entry)});
    process.stdout.write(JSON.stringify(urls));`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
    cwd: ROOT,
  });
  return JSON.parse(stdout) as string[];
}

const ENGINE_ONLY =
  /\/node_modules\/(@google-cloud\/run|@google-cloud\/pubsub|rxjs|croner)\/|\/core\/dist\/engine\.js$/;

describe('the @e11/core entries', () => {
  it('the root entry (what the runner loads) loads neither the engine nor the Cloud Run, Pub/Sub, rxjs or cron modules', async () => {
    const loaded = await modulesLoadedBy('@e11/core');
    expect(loaded.some((url) => url.includes('/core/dist/index.js'))).toBe(true);
    expect(loaded.filter((url) => ENGINE_ONLY.test(url))).toEqual([]);
  });

  it('the engine entry loads them (the check above sees them when they are there)', async () => {
    const loaded = await modulesLoadedBy('@e11/core/engine');
    expect(loaded.some((url) => url.includes('/node_modules/@google-cloud/run/'))).toBe(true);
    expect(loaded.some((url) => url.endsWith('/core/dist/engine.js'))).toBe(true);
  });
});
