import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, describe, expect, it } from 'vitest';

import { isStackError } from './errors.js';
import { DEFAULT_FIREBASE_CONFIG, readFirebaseConfig, resolveStackPaths } from './paths.js';
import { resolvePorts } from './ports.js';

const scratch = realpathSync(mkdtempSync(join(tmpdir(), 'e11-paths-')));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function project(name: string, files: Record<string, string>): string {
  const dir = join(scratch, name);
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  return dir;
}

function errorOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('where the stack finds its config and puts its state', () => {
  it("uses the package's defaults and <cwd>/.e11 when no firebase.json is in cwd or above", () => {
    const dir = project('bare', { 'src/.keep': '' });
    const paths = resolveStackPaths({ cwd: join(dir, 'src') });
    expect(paths.usingDefaults).toBe(true);
    expect(paths.firebaseConfig).toBe(DEFAULT_FIREBASE_CONFIG);
    expect(paths.stateDir).toBe(join(dir, 'src', '.e11'));
    const config = readFirebaseConfig(paths);
    expect(readFileSync(config.rules, 'utf8')).toContain('e11_orchestrations');
    const ports = resolvePorts(paths);
    expect(Number.isInteger(ports.firestore) && Number.isInteger(ports.pubsub)).toBe(true);
  });

  it("finds the project's firebase.json above cwd, its rules, and keeps state beside it", () => {
    const dir = project('own', {
      'firebase.json': JSON.stringify({
        emulators: { firestore: { port: 18080, websocketPort: 19150 }, pubsub: { port: 18085 } },
        firestore: { rules: 'rules/app.rules' },
      }),
      'rules/app.rules': "rules_version = '2';",
      'backend/src/.keep': '',
    });
    const paths = resolveStackPaths({ cwd: join(dir, 'backend', 'src') });
    expect(paths).toEqual({
      firebaseConfig: join(dir, 'firebase.json'),
      usingDefaults: false,
      stateDir: join(dir, '.e11'),
    });
    const config = readFirebaseConfig(paths);
    expect(config.rules).toBe(join(dir, 'rules', 'app.rules'));
    // No indexes named: the package's own.
    expect(config.indexes).toBe(join(dirname(DEFAULT_FIREBASE_CONFIG), 'firestore.indexes.json'));
    const saved = { ...process.env };
    try {
      delete process.env.E11_FIRESTORE_PORT;
      delete process.env.E11_PUBSUB_PORT;
      delete process.env.E11_FIRESTORE_WS_PORT;
      expect(resolvePorts(paths)).toMatchObject({
        firestore: 18080,
        firestoreWebsocket: 19150,
        pubsub: 18085,
      });
    } finally {
      process.env = saved;
    }
  });

  it('takes an explicit firebaseConfig and stateDir, relative to cwd', () => {
    const dir = project('explicit', { 'config/emulators.json': '{}' });
    const paths = resolveStackPaths({
      cwd: dir,
      firebaseConfig: 'config/emulators.json',
      stateDir: 'tmp/state',
    });
    expect(paths).toEqual({
      firebaseConfig: join(dir, 'config', 'emulators.json'),
      usingDefaults: false,
      stateDir: join(dir, 'tmp', 'state'),
    });
  });

  it('refuses an explicit firebaseConfig that does not exist with E11_STACK_CONFIG_NOT_FOUND', () => {
    const error = errorOf(() => resolveStackPaths({ cwd: scratch, firebaseConfig: 'nope.json' }));
    expect(isStackError(error, 'E11_STACK_CONFIG_NOT_FOUND')).toBe(true);
    expect((error as Error).message).toBe(`firebase.json not found: ${join(scratch, 'nope.json')}.`);
  });

  it('refuses a firebase.json that is not JSON, has a bad port, or names a missing rules file', () => {
    const broken = project('broken', { 'firebase.json': '{ nope' });
    const badPort = project('bad-port', { 'firebase.json': '{"emulators":{"firestore":{"port":"x"}}}' });
    const noRules = project('no-rules', { 'firebase.json': '{"firestore":{"rules":"missing.rules"}}' });
    for (const [dir, message] of [
      [broken, /firebase\.json cannot be read as JSON/],
      [badPort, /emulators\.firestore in firebase\.json has an invalid port/],
      [noRules, /The Firestore rules file .*missing\.rules named in .*firebase\.json does not exist/],
    ] as const) {
      const error = errorOf(() => resolvePorts(resolveStackPaths({ cwd: dir })));
      expect(isStackError(error, 'E11_STACK_CONFIG_INVALID')).toBe(true);
      expect((error as Error).message).toMatch(message);
    }
  });

  it("ships defaults equal to this repository's firebase.json, rules and indexes", () => {
    const root = fileURLToPath(new URL('../../', import.meta.url));
    const defaults = dirname(DEFAULT_FIREBASE_CONFIG);
    for (const file of ['firebase.json', 'firestore.rules', 'firestore.indexes.json']) {
      expect(readFileSync(join(defaults, file), 'utf8'), file).toBe(readFileSync(join(root, file), 'utf8'));
    }
  });
});
