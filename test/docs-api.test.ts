import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TYPEDOC = fileURLToPath(new URL('../node_modules/typedoc/bin/typedoc', import.meta.url));

/**
 * `npm run docs:api` builds the API reference with docs/typedoc.json, which treats every TypeDoc
 * warning as an error. Here the same configuration converts and validates without writing files, so a
 * TSDoc comment that breaks the reference (a link to an unexported name, an unknown tag) fails the
 * suite. Converts the compiled packages: run after `npx tsc -b`, as `npm test` does.
 */
describe('the API reference', () => {
  it('converts every public entry point with no warning', { timeout: 180_000 }, async () => {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [TYPEDOC, '--options', 'docs/typedoc.json', '--emit', 'none'],
      { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 },
    );
    const output = `${stdout}\n${stderr}`;
    expect(output).not.toMatch(/\[warning\]|\[error\]/);
    for (const pkg of ['sdk', 'runner', 'core', 'functions'])
      expect(output).toContain(`Converting project at ./packages/${pkg}`);
    expect(output).toContain('Converting project at ./emulators');
  });
});
