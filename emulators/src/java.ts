import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  realpathSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

import { StackError } from './errors.js';

const run = promisify(execFile);

/** firebase-tools 13 runs the emulators on Java 11 or newer. */
const MIN_JAVA = 11;

/** The Firestore emulator's entry point inside the gcloud (and firebase-tools) jar. */
const FIRESTORE_MAIN = 'com.google.cloud.datastore.emulator.firestore.CloudFirestore';

/** Reads `java -version`; throws one clear line when Java is missing or older than 11. */
export async function checkJava(): Promise<number> {
  let output: string;
  try {
    const { stderr, stdout } = await run('java', ['-version']);
    output = `${stderr}${stdout}`;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new StackError(
        'E11_JAVA_MISSING',
        `Java is not installed: the Firestore and Pub/Sub emulators need Java ${MIN_JAVA}+ on PATH ` +
          `(Debian/Ubuntu: apt-get install openjdk-17-jdk-headless; macOS: brew install openjdk@17).`,
      );
    }
    throw error;
  }
  const match = /version "(\d+)(?:\.(\d+))?/.exec(output);
  const major = match ? (match[1] === '1' ? Number(match[2]) : Number(match[1])) : NaN;
  if (!Number.isFinite(major) || major < MIN_JAVA) {
    throw new StackError(
      'E11_JAVA_TOO_OLD',
      `Java ${Number.isFinite(major) ? major : '(unknown version)'} found, but the emulators need Java ${MIN_JAVA}+ ` +
        `(install openjdk-17 and put it first on PATH).`,
    );
  }
  return major;
}

/** Locations of the emulator binaries that ship with the Google Cloud CLI, when it is installed. */
export interface GcloudEmulators {
  firestoreJar?: string;
  pubsubBinary?: string;
}

function gcloudRoots(): string[] {
  const roots = [process.env.CLOUDSDK_ROOT_DIR, '/usr/lib/google-cloud-sdk', '/usr/share/google-cloud-sdk'];
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const gcloud = join(dir, 'gcloud');
    if (dir && existsSync(gcloud)) roots.push(dirname(dirname(realpathSync(gcloud))));
  }
  roots.push(join(homedir(), 'google-cloud-sdk'));
  return roots.filter((root): root is string => typeof root === 'string' && root !== '');
}

/** Finds the gcloud-installed emulators (env overrides E11_FIRESTORE_JAR / E11_PUBSUB_BINARY win). */
export function findGcloudEmulators(): GcloudEmulators {
  const found: GcloudEmulators = {};
  const firestoreOverride = process.env.E11_FIRESTORE_JAR;
  const pubsubOverride = process.env.E11_PUBSUB_BINARY;
  if (firestoreOverride) found.firestoreJar = firestoreOverride;
  if (pubsubOverride) found.pubsubBinary = pubsubOverride;
  for (const root of gcloudRoots()) {
    const jar = join(root, 'platform/cloud-firestore-emulator/cloud-firestore-emulator.jar');
    const pubsub = join(root, 'platform/pubsub-emulator/bin/cloud-pubsub-emulator');
    if (!found.firestoreJar && existsSync(jar)) found.firestoreJar = jar;
    if (!found.pubsubBinary && existsSync(pubsub)) found.pubsubBinary = pubsub;
  }
  return found;
}

/** The Firestore jar firebase-tools downloaded into its cache, if any (the fallback path). */
export function findDownloadedFirestoreJar(): string | undefined {
  const cache = join(homedir(), '.cache', 'firebase', 'emulators');
  if (!existsSync(cache)) return undefined;
  const jars = readdirSync(cache)
    .filter((name) => /^cloud-firestore-emulator-v[\d.]+\.jar$/.test(name))
    .map((name) => join(cache, name))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  return jars[0];
}

/**
 * A tiny Java entry point that adds `--functions_emulator <host:port>` (from the environment) to the
 * arguments firebase-tools passes, then calls the real emulator. firebase-tools only passes that flag
 * when its own Functions emulator runs; ours is the trigger bridge, so the launcher adds it.
 */
const LAUNCHER_SOURCE = `
public final class E11FirestoreLauncher {
  public static void main(String[] args) throws Throwable {
    java.util.List<String> all = new java.util.ArrayList<>(java.util.Arrays.asList(args));
    String target = System.getenv("E11_FIRESTORE_FUNCTIONS_EMULATOR");
    if (target != null && !target.isEmpty() && !all.contains("--functions_emulator")) {
      all.add("--functions_emulator");
      all.add(target);
    }
    Class<?> main = Class.forName("${FIRESTORE_MAIN}");
    try {
      main.getMethod("main", String[].class).invoke(null, (Object) all.toArray(new String[0]));
    } catch (java.lang.reflect.InvocationTargetException e) {
      throw e.getCause();
    }
  }
}
`;

/**
 * Builds (once, cached under the state directory) a launcher jar for the given Firestore emulator jar: its manifest
 * names our launcher as Main-Class and the emulator jar on its Class-Path, so that
 * `java -jar launcher.jar` (how firebase-tools starts Firestore) works offline.
 */
export async function buildFirestoreLauncher(emulatorJar: string, stateDir: string): Promise<string> {
  const hash = createHash('sha256')
    .update(LAUNCHER_SOURCE)
    .update(emulatorJar)
    .update(String(statSync(emulatorJar).mtimeMs))
    .digest('hex')
    .slice(0, 12);
  const dir = join(stateDir, 'emulators', `firestore-launcher-${hash}`);
  const jar = join(dir, 'launcher.jar');
  if (existsSync(jar)) return jar;
  mkdirSync(join(dir, 'classes'), { recursive: true });
  writeFileSync(join(dir, 'E11FirestoreLauncher.java'), LAUNCHER_SOURCE);
  writeFileSync(
    join(dir, 'manifest.txt'),
    `Main-Class: E11FirestoreLauncher\nClass-Path: ${new URL(`file://${emulatorJar}`).href}\n`,
  );
  try {
    await run('javac', [
      '--release',
      '11',
      '-d',
      join(dir, 'classes'),
      join(dir, 'E11FirestoreLauncher.java'),
    ]);
    await run('jar', ['cfm', `${jar}.tmp`, join(dir, 'manifest.txt'), '-C', join(dir, 'classes'), '.']);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new StackError(
        'E11_JAVA_MISSING',
        'javac/jar not found: a full JDK (not only a JRE) is needed to prepare the Firestore emulator launcher ' +
          '(Debian/Ubuntu: apt-get install openjdk-17-jdk-headless).',
      );
    }
    throw error;
  }
  renameSync(`${jar}.tmp`, jar);
  return jar;
}
