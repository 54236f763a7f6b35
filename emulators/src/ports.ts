import { createServer } from 'node:net';

import { StackError } from './errors.js';
import {
  emulatorEntry,
  type FirebaseConfig,
  readFirebaseConfig,
  resolveStackPaths,
  type StackPaths,
} from './paths.js';

/** Loopback ports of the local stack. Google emulator ports come from firebase.json. */
export interface StackPorts {
  host: string;
  firestore: number;
  firestoreWebsocket: number;
  pubsub: number;
  hub: number;
  logging: number;
  /** Where the Firestore emulator delivers trigger CloudEvents (the trigger bridge). */
  bridge: number;
  /** The Functions Framework server that runs @e11/functions. */
  functions: number;
  /** The Cloud Run Jobs emulator. */
  cloudRun: number;
}

function emulatorPort(
  config: FirebaseConfig,
  name: string,
  field: 'port' | 'websocketPort',
  fallback: number,
) {
  return emulatorEntry(config, name)[field] ?? fallback;
}

function envPort(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new StackError('E11_STACK_CONFIG_INVALID', `${name}=${raw} is not a port number (1-65535).`);
  }
  return port;
}

/**
 * The ports the stack uses: the firebase.json of `paths` (the project's, or the package defaults) for
 * the Google emulators, fixed defaults for ours, each overridable by an environment variable
 * (E11_FIRESTORE_PORT, E11_PUBSUB_PORT, E11_HUB_PORT, E11_LOGGING_PORT, E11_FIRESTORE_WS_PORT,
 * E11_BRIDGE_PORT, E11_FUNCTIONS_PORT, E11_CLOUD_RUN_PORT).
 */
export function resolvePorts(paths: StackPaths = resolveStackPaths()): StackPorts {
  const config = readFirebaseConfig(paths);
  return {
    host: '127.0.0.1',
    firestore: envPort('E11_FIRESTORE_PORT', emulatorPort(config, 'firestore', 'port', 8080)),
    firestoreWebsocket: envPort(
      'E11_FIRESTORE_WS_PORT',
      emulatorPort(config, 'firestore', 'websocketPort', 9150),
    ),
    pubsub: envPort('E11_PUBSUB_PORT', emulatorPort(config, 'pubsub', 'port', 8085)),
    hub: envPort('E11_HUB_PORT', emulatorPort(config, 'hub', 'port', 4400)),
    logging: envPort('E11_LOGGING_PORT', emulatorPort(config, 'logging', 'port', 4500)),
    bridge: envPort('E11_BRIDGE_PORT', 8095),
    functions: envPort('E11_FUNCTIONS_PORT', 8093),
    cloudRun: envPort('E11_CLOUD_RUN_PORT', 8091),
  };
}

/** Resolves when `port` can be bound on `host`; false when something else holds it. */
export function isPortFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Throws one clear line for the first port of `wanted` that is taken. */
export async function assertPortsFree(host: string, wanted: Record<string, number>): Promise<void> {
  for (const [what, port] of Object.entries(wanted)) {
    if (!(await isPortFree(host, port))) {
      throw new StackError(
        'E11_PORT_IN_USE',
        `Port ${port} (${what}) on ${host} is already in use: stop the process holding it (\`lsof -i :${port}\`), ` +
          `e.g. another E11 stack or emulator, or choose other ports with the E11_*_PORT variables.`,
      );
    }
  }
}
