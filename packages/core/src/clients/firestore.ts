import { Firestore } from '@google-cloud/firestore';

import { DEFAULTS } from '../defaults.js';
import { E11Error, ErrorCode } from '../errors.js';
import { TaskEnvName } from '../task/task-contract.js';

/**
 * Factories for the Google clients, the same in production and locally. With an emulator host (an
 * argument, or FIRESTORE_EMULATOR_HOST / PUBSUB_EMULATOR_HOST / E11_CLOUD_RUN_EMULATOR_HOST) the real
 * client is pointed at the emulator without credentials and without a metadata-server lookup. Each
 * client has its own module so a process loads only the clients it uses.
 */

/** `host:port` → its parts. */
export function splitHost(hostPort: string): { host: string; port: number } {
  const index = hostPort.lastIndexOf(':');
  const host = index === -1 ? hostPort : hostPort.slice(0, index);
  const port = index === -1 ? NaN : Number(hostPort.slice(index + 1));
  if (!host || !Number.isInteger(port)) throw new Error(`Expected host:port, got '${hostPort}'.`);
  return { host: host.replace(/^\[|\]$/g, ''), port };
}

/** The project id from the options or the usual environment variables (of `env`, by default the process's). */
export function resolveProjectId(
  projectId?: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): string | undefined {
  return projectId ?? env.GOOGLE_CLOUD_PROJECT ?? env.GCLOUD_PROJECT ?? env.GCP_PROJECT;
}

/** Firestore's rule for database ids (4-63 of a-z, 0-9 and '-', a letter first, not '-' last), or `(default)`. */
const DATABASE_ID = /^([a-z][a-z0-9-]{2,61}[a-z0-9]|\(default\))$/;

/**
 * The Firestore database id from the options, E11_FIRESTORE_DATABASE (of `env`, by default the
 * process's), or `(default)`. Throws
 * E11_INVALID_OPTIONS for an id Firestore would refuse.
 */
export function resolveDatabaseId(
  databaseId?: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): string {
  const fromEnv = env[TaskEnvName.firestoreDatabase];
  const id = databaseId ?? (fromEnv === '' ? undefined : fromEnv) ?? DEFAULTS.firestoreDatabase;
  if (!DATABASE_ID.test(id)) {
    const source = databaseId === undefined ? TaskEnvName.firestoreDatabase : 'databaseId';
    throw new E11Error(
      ErrorCode.InvalidOptions,
      `${source}: '${id}' is not a Firestore database id (4-63 lower-case letters, digits or '-', starting with a letter), nor '(default)'.`,
      { context: { path: source } },
    );
  }
  return id;
}

/** Options for the client factories. */
export interface ClientOptions {
  projectId?: string;
  /** `host:port` of an emulator; defaults to the standard environment variable. */
  emulatorHost?: string;
  /** The Firestore database (Firestore clients only). @default E11_FIRESTORE_DATABASE, or DEFAULTS.firestoreDatabase */
  databaseId?: string;
}

/** A Firestore client of one database (emulator-aware). */
export function createFirestore(options: ClientOptions = {}): Firestore {
  const projectId = resolveProjectId(options.projectId);
  const databaseId = resolveDatabaseId(options.databaseId);
  const emulator = options.emulatorHost ?? process.env.FIRESTORE_EMULATOR_HOST;
  if (!emulator) return new Firestore({ ...(projectId ? { projectId } : {}), databaseId });
  const { host, port } = splitHost(emulator);
  return new Firestore({
    projectId: projectId ?? 'demo-e11',
    databaseId,
    host,
    port,
    ssl: false,
    customHeaders: { Authorization: 'Bearer owner' },
    universeDomain: 'googleapis.com',
  });
}
