import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { z } from 'zod';

import { StackError } from './errors.js';

/** Where the stack reads its emulator config and writes its state. */
export interface StackPathsOptions {
  /**
   * The firebase.json whose `emulators` ports and `firestore` rules/indexes the stack uses (relative
   * paths resolve against `cwd`).
   * @default the nearest firebase.json in `cwd` or above it; when there is none, the defaults shipped
   * with @e11/emulators (ports 8080/9150/8085/4400/4500, E11's Firestore rules and indexes)
   */
  firebaseConfig?: string;
  /**
   * Where generated files (run configs, the Firestore launcher jar, the compile cache) and logs go.
   * Relative paths resolve against `cwd`.
   * @default `.e11` beside the project's firebase.json, or `<cwd>/.e11` when the defaults are used
   */
  stateDir?: string;
  /** The directory the search for firebase.json starts in. @default process.cwd() */
  cwd?: string;
}

/** The resolved config and state locations of one stack. */
export interface StackPaths {
  /** The firebase.json in use. */
  readonly firebaseConfig: string;
  /** True when no project firebase.json was found and the package's own defaults are used. */
  readonly usingDefaults: boolean;
  /** The directory for generated files and logs. */
  readonly stateDir: string;
}

/** The defaults shipped with this package (`defaults/` beside `dist/`). */
const DEFAULTS_DIR = fileURLToPath(new URL('../defaults/', import.meta.url));

/** firebase.json of the package's own defaults. */
export const DEFAULT_FIREBASE_CONFIG = join(DEFAULTS_DIR, 'firebase.json');

function nearestFirebaseJson(start: string): string | undefined {
  let dir = start;
  for (;;) {
    const candidate = join(dir, 'firebase.json');
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/**
 * Resolves which firebase.json the stack uses and where its state goes (see {@link StackPathsOptions}).
 * Throws `E11_STACK_CONFIG_NOT_FOUND` when an explicit `firebaseConfig` does not exist.
 */
export function resolveStackPaths(options: StackPathsOptions = {}): StackPaths {
  const cwd = resolve(options.cwd ?? process.cwd());
  let firebaseConfig: string;
  let usingDefaults = false;
  if (options.firebaseConfig !== undefined) {
    firebaseConfig = resolve(cwd, options.firebaseConfig);
    if (!existsSync(firebaseConfig) || !statSync(firebaseConfig).isFile()) {
      throw new StackError('E11_STACK_CONFIG_NOT_FOUND', `firebase.json not found: ${firebaseConfig}.`);
    }
  } else {
    const found = nearestFirebaseJson(cwd);
    usingDefaults = found === undefined;
    firebaseConfig = found ?? DEFAULT_FIREBASE_CONFIG;
  }
  const stateDir =
    options.stateDir !== undefined
      ? resolve(cwd, options.stateDir)
      : join(usingDefaults ? cwd : dirname(firebaseConfig), '.e11');
  return { firebaseConfig, usingDefaults, stateDir };
}

/** A path inside the stack's state directory. */
export function statePath(paths: StackPaths, ...parts: string[]): string {
  return join(paths.stateDir, ...parts);
}

const emulatorEntrySchema = z
  .object({ port: z.int().min(1).max(65535).optional(), websocketPort: z.int().min(1).max(65535).optional() })
  .loose();

const firestoreSectionSchema = z
  .object({ rules: z.string().min(1).optional(), indexes: z.string().min(1).optional() })
  .loose();

const firebaseJsonSchema = z
  .object({
    emulators: z.record(z.string(), z.unknown()).optional(),
    // firebase.json allows one entry per database; the stack loads the first one's rules and indexes.
    firestore: z.union([firestoreSectionSchema, z.array(firestoreSectionSchema)]).optional(),
  })
  .loose();

/** What the stack takes from a firebase.json, with the rules and indexes as absolute paths. */
export interface FirebaseConfig {
  /** The `emulators` section as written (ports of firestore, pubsub, hub, logging). */
  emulators: Record<string, unknown>;
  /** The Firestore rules file: the project's, or the package default when the config names none. */
  rules: string;
  /** The Firestore indexes file: the project's, or the package default when the config names none. */
  indexes: string;
}

/** The port fields of one `emulators` entry, when they are valid. */
export function emulatorEntry(config: FirebaseConfig, name: string): z.infer<typeof emulatorEntrySchema> {
  const result = emulatorEntrySchema.safeParse(config.emulators[name] ?? {});
  if (!result.success) {
    throw new StackError(
      'E11_STACK_CONFIG_INVALID',
      `emulators.${name} in firebase.json has an invalid port: ${result.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}.`,
    );
  }
  return result.data;
}

function existingFile(path: string, what: string, configFile: string): string {
  if (!existsSync(path) || !statSync(path).isFile()) {
    throw new StackError(
      'E11_STACK_CONFIG_INVALID',
      `${what} ${path} named in ${configFile} does not exist.`,
    );
  }
  return path;
}

/**
 * Reads and checks the firebase.json of `paths`. Throws `E11_STACK_CONFIG_INVALID` naming the file when
 * it is not JSON, has the wrong shape, or names a rules or indexes file that does not exist.
 */
export function readFirebaseConfig(paths: StackPaths): FirebaseConfig {
  const file = paths.firebaseConfig;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new StackError(
      'E11_STACK_CONFIG_INVALID',
      `${file} cannot be read as JSON: ${error instanceof Error ? error.message : String(error)}.`,
      { cause: error },
    );
  }
  const result = firebaseJsonSchema.safeParse(parsed);
  if (!result.success) {
    throw new StackError(
      'E11_STACK_CONFIG_INVALID',
      `${file} is not a valid firebase.json: ${result.error.issues.map((i) => `${i.path.join('.') || '(root)'} ${i.message}`).join('; ')}.`,
    );
  }
  const firestore = Array.isArray(result.data.firestore) ? result.data.firestore[0] : result.data.firestore;
  const base = dirname(file);
  const local = (path: string) => (isAbsolute(path) ? path : join(base, path));
  return {
    emulators: result.data.emulators ?? {},
    rules: firestore?.rules
      ? existingFile(local(firestore.rules), 'The Firestore rules file', file)
      : join(DEFAULTS_DIR, 'firestore.rules'),
    indexes: firestore?.indexes
      ? existingFile(local(firestore.indexes), 'The Firestore indexes file', file)
      : join(DEFAULTS_DIR, 'firestore.indexes.json'),
  };
}
