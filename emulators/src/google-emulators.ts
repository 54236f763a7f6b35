import { spawn } from 'node:child_process';
import { copyFileSync, createWriteStream, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';

import { StackError, toStackError } from './errors.js';
import {
  buildFirestoreLauncher,
  checkJava,
  findDownloadedFirestoreJar,
  findGcloudEmulators,
} from './java.js';
import {
  readFirebaseConfig,
  resolveStackPaths,
  type StackPaths,
  type StackPathsOptions,
  statePath,
} from './paths.js';
import { assertPortsFree, resolvePorts, type StackPorts } from './ports.js';
import { descendants, killAll, waitForExit } from './process-tree.js';

/** Options for {@link startGoogleEmulators}. */
export interface GoogleEmulatorsOptions extends StackPathsOptions {
  /**
   * The project id firebase-tools starts with (rules are loaded for it). Other project ids work too:
   * the Firestore emulator runs in multi-project mode so each test file can use its own.
   * @default 'demo-e11'
   */
  projectId?: string;
  /** Ports; by default from the firebase.json in use and the E11_*_PORT variables. */
  ports?: StackPorts;
  /**
   * Where the Firestore emulator delivers trigger CloudEvents (`host:port`, the trigger bridge).
   * @default `${ports.host}:${ports.bridge}`
   */
  functionsTarget?: string;
  /** How long to wait for both emulators to answer. @default 120000 */
  startTimeoutMs?: number;
  /** Called with each line firebase-tools prints (it also goes to `<state dir>/logs/firebase-emulators.log`). */
  onLog?: (line: string) => void;
}

/** The running Firestore and Pub/Sub emulators. */
export interface GoogleEmulators {
  readonly projectId: string;
  readonly ports: StackPorts;
  /** The firebase.json used and the state directory. */
  readonly paths: StackPaths;
  /** `host:port` for FIRESTORE_EMULATOR_HOST. */
  readonly firestoreHost: string;
  /** `host:port` for PUBSUB_EMULATOR_HOST. */
  readonly pubsubHost: string;
  /** Stops firebase-tools and both emulators; no Java process is left. Single-flight. */
  stop(): Promise<void>;
}

const firebaseBin = () => createRequire(import.meta.url).resolve('firebase-tools/lib/bin/firebase.js');

async function probe(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
    return response.ok;
  } catch {
    return false;
  }
}

/**
 * Writes a firebase.json for this run (the one in use, ports resolved) into the state directory;
 * returns it first, then its copies.
 */
function writeRunConfig(paths: StackPaths, ports: StackPorts): string[] {
  const base = readFirebaseConfig(paths);
  const dir = statePath(paths, 'run');
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  // firebase-tools only reads rules inside the config file's own directory: copy them beside it.
  const copyToRunDir = (path: string) => {
    const name = `${process.pid}.${basename(path)}`;
    copyFileSync(path, join(dir, name));
    files.push(join(dir, name));
    return name;
  };
  const config = {
    emulators: {
      ...base.emulators,
      firestore: { host: ports.host, port: ports.firestore, websocketPort: ports.firestoreWebsocket },
      pubsub: { host: ports.host, port: ports.pubsub },
      hub: { host: ports.host, port: ports.hub },
      logging: { host: ports.host, port: ports.logging },
      ui: { enabled: false },
      singleProjectMode: false,
    },
    firestore: { rules: copyToRunDir(base.rules), indexes: copyToRunDir(base.indexes) },
  };
  const file = join(dir, `firebase.${process.pid}.json`);
  writeFileSync(file, JSON.stringify(config, null, 2));
  return [file, ...files];
}

/** Makes sure a Firestore jar exists locally: the gcloud one, or firebase-tools' own download. */
async function firestoreJar(gcloudJar: string | undefined, env: NodeJS.ProcessEnv): Promise<string> {
  if (gcloudJar) return gcloudJar;
  const cached = findDownloadedFirestoreJar();
  if (cached) return cached;
  // No Google Cloud CLI: let firebase-tools download its own copy (needs the internet once).
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [firebaseBin(), 'setup:emulators:firestore'], {
      env,
      stdio: 'ignore',
    });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0
        ? resolve()
        : reject(
            new StackError(
              'E11_EMULATOR_BINARY_MISSING',
              'The Firestore emulator is not installed and could not be downloaded: install the Google Cloud CLI ' +
                'with `gcloud components install cloud-firestore-emulator pubsub-emulator`, or connect to the internet once.',
            ),
          ),
    );
  });
  const downloaded = findDownloadedFirestoreJar();
  if (!downloaded) {
    throw new StackError(
      'E11_EMULATOR_BINARY_MISSING',
      'firebase-tools reported a download but no Firestore jar was found.',
    );
  }
  return downloaded;
}

/**
 * Starts the Firestore and Pub/Sub emulators through firebase-tools and firebase.json, offline:
 * the gcloud-installed binaries are used through FIRESTORE_EMULATOR_BINARY_PATH (a launcher jar
 * generated here) and PUBSUB_EMULATOR_BINARY_PATH; without gcloud, firebase-tools' own download
 * is used. Resolves when both emulators answer. Fails with one clear {@link StackError} line when
 * Java is missing or too old, a port is taken, or the emulators do not come up in time — and
 * leaves no emulator process behind in every case.
 */
export async function startGoogleEmulators(options: GoogleEmulatorsOptions = {}): Promise<GoogleEmulators> {
  try {
    return await start(options);
  } catch (error) {
    throw toStackError(
      error,
      'E11_STACK_START_FAILED',
      'Could not start the Firestore and Pub/Sub emulators',
    );
  }
}

async function start(options: GoogleEmulatorsOptions): Promise<GoogleEmulators> {
  const paths = resolveStackPaths(options);
  const ports = options.ports ?? resolvePorts(paths);
  const projectId = options.projectId ?? 'demo-e11';
  const timeoutMs = options.startTimeoutMs ?? 120_000;
  await checkJava();
  await assertPortsFree(ports.host, {
    'Firestore emulator': ports.firestore,
    'Firestore emulator websocket': ports.firestoreWebsocket,
    'Pub/Sub emulator': ports.pubsub,
    'emulator hub': ports.hub,
    'emulator logging': ports.logging,
  });

  const env: NodeJS.ProcessEnv = { ...process.env, NO_UPDATE_NOTIFIER: '1', FORCE_COLOR: '0' };
  delete env.FIRESTORE_EMULATOR_HOST;
  delete env.PUBSUB_EMULATOR_HOST;
  const gcloud = findGcloudEmulators();
  env.FIRESTORE_EMULATOR_BINARY_PATH = await buildFirestoreLauncher(
    await firestoreJar(gcloud.firestoreJar, env),
    paths.stateDir,
  );
  if (gcloud.pubsubBinary) env.PUBSUB_EMULATOR_BINARY_PATH = gcloud.pubsubBinary;
  env.E11_FIRESTORE_FUNCTIONS_EMULATOR = options.functionsTarget ?? `${ports.host}:${ports.bridge}`;

  const logDir = statePath(paths, 'logs');
  mkdirSync(logDir, { recursive: true });
  const log = createWriteStream(join(logDir, 'firebase-emulators.log'), { flags: 'a' });
  const tail: string[] = [];
  const runFiles = writeRunConfig(paths, ports);
  const config = runFiles[0] as string;
  const child = spawn(
    process.execPath,
    [
      '--import',
      new URL('./interrupt-with-parent.js', import.meta.url).href,
      firebaseBin(),
      'emulators:start',
      '--only',
      'firestore,pubsub',
      '--project',
      projectId,
      '--config',
      config,
    ],
    // stdin stays open while this process lives: its end tells firebase-tools to shut down.
    { cwd: logDir, env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const onData = (chunk: Buffer) => {
    log.write(chunk);
    for (const line of stripVTControlCharacters(chunk.toString('utf8')).split('\n')) {
      if (line.trim() === '') continue;
      tail.push(line);
      if (tail.length > 40) tail.shift();
      options.onLog?.(line);
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      resolve();
    });
  });
  const rootPid = child.pid;
  if (rootPid === undefined)
    throw new StackError('E11_STACK_START_FAILED', 'Could not start firebase-tools.');
  const known = new Set<number>();
  const remember = () => descendants(rootPid).forEach((pid) => known.add(pid));

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      remember();
      if (!exited) {
        // firebase-tools stops its emulators cleanly on SIGINT.
        child.kill('SIGINT');
        await Promise.race([exit, new Promise((resolve) => setTimeout(resolve, 20_000).unref())]);
      }
      try {
        process.kill(-rootPid, 'SIGKILL');
      } catch {
        // the group is gone already
      }
      killAll(known, 'SIGKILL');
      await waitForExit([rootPid, ...known], 10_000);
      log.end();
      for (const file of runFiles) rmSync(file, { force: true });
      process.removeListener('exit', onHostExit);
    })());
  const onHostExit = () => {
    remember();
    killAll([rootPid, ...known], 'SIGKILL');
  };
  process.on('exit', onHostExit);

  const firestoreHost = `${ports.host}:${ports.firestore}`;
  const pubsubHost = `${ports.host}:${ports.pubsub}`;
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      if (exited) {
        throw new StackError(
          'E11_STACK_START_FAILED',
          `firebase-tools exited before the emulators were ready: ${tail.slice(-3).join(' | ') || 'no output'} ` +
            `(full log: ${join(logDir, 'firebase-emulators.log')}).`,
        );
      }
      const [firestoreUp, pubsubUp] = await Promise.all([
        probe(`http://${firestoreHost}/`),
        probe(`http://${pubsubHost}/`),
      ]);
      if (firestoreUp && pubsubUp) break;
      if (Date.now() > deadline) {
        throw new StackError(
          'E11_STACK_START_TIMEOUT',
          `The emulators did not answer within ${Math.round(timeoutMs / 1000)} s ` +
            `(Firestore ${firestoreUp ? 'up' : 'down'}, Pub/Sub ${pubsubUp ? 'up' : 'down'}); ` +
            `see ${join(logDir, 'firebase-emulators.log')}.`,
        );
      }
      // Readiness of another process has no event to wait on: probe again shortly.
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  remember();
  return { projectId, ports, paths, firestoreHost, pubsubHost, stop };
}
