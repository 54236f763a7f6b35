import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { inject } from 'vitest';

/** The built `e11` executable. */
const CLI = fileURLToPath(new URL('../../packages/cli/dist/main.js', import.meta.url));

/** What a run of the `e11` executable printed, and how it exited. */
export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built `e11` executable with Node against the suite's emulators as `projectId` in region
 * `us-central1` (only these variables and `env` in its environment, as an operator's shell would set
 * them; an empty value in `env` unsets one); resolves on exit.
 */
export function runBuiltCli(
  projectId: string,
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<CliRun> {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: {
      PATH: process.env.PATH,
      FIRESTORE_EMULATOR_HOST: inject('firestoreHost'),
      PUBSUB_EMULATOR_HOST: inject('pubsubHost'),
      GOOGLE_CLOUD_PROJECT: projectId,
      // The Cloud Run region commands that launch need (there is no default region).
      E11_REGION: 'us-central1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
