import { Firestore } from '@google-cloud/firestore';

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

/** The project id from the options or the usual environment variables. */
export function resolveProjectId(projectId?: string): string | undefined {
  return (
    projectId ?? process.env.GOOGLE_CLOUD_PROJECT ?? process.env.GCLOUD_PROJECT ?? process.env.GCP_PROJECT
  );
}

/** Options for the client factories. */
export interface ClientOptions {
  projectId?: string;
  /** `host:port` of an emulator; defaults to the standard environment variable. */
  emulatorHost?: string;
}

/** A Firestore client (emulator-aware). */
export function createFirestore(options: ClientOptions = {}): Firestore {
  const projectId = resolveProjectId(options.projectId);
  const emulator = options.emulatorHost ?? process.env.FIRESTORE_EMULATOR_HOST;
  if (!emulator) return new Firestore(projectId ? { projectId } : {});
  const { host, port } = splitHost(emulator);
  return new Firestore({
    projectId: projectId ?? 'demo-e11',
    host,
    port,
    ssl: false,
    customHeaders: { Authorization: 'Bearer owner' },
    universeDomain: 'googleapis.com',
  });
}
