// Firestore out of reach, from the SDK and from the built e11 executable. Most of this file waits on
// the Firestore client's own retries against a closed port (about 45 s), idle: the SDK's and the
// executable's waits run concurrently, so they overlap instead of adding up in two files.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { createFirestore, isE11Error } from '@e11/core';
import { freePort } from '@e11/emulators';
import { OrchestrationService, Schedules } from '@e11/sdk';
import { afterAll, beforeAll, describe, it } from 'vitest';

import { runBuiltCli } from './helpers/cli.js';
import { emulatorClients, testProjectId } from './helpers/project.js';
import { RecordingLauncher } from './helpers/recording-launcher.js';
import { rejection } from './helpers/rejection.js';

const projectId = testProjectId('cli-unreachable');
const sdkProjectId = testProjectId('sdk-unreachable');
const unreachable = createFirestore({
  projectId: sdkProjectId,
  emulatorHost: `127.0.0.1:${await freePort()}`,
});
const service = new OrchestrationService({
  projectId: sdkProjectId,
  firestore: unreachable,
  launcher: new RecordingLauncher(),
});

/** Runs the built CLI and measures how long the process took, start to exit. */
async function timed(args: string[], env: Record<string, string>) {
  const started = performance.now();
  const run = await runBuiltCli(projectId, args, env);
  return { ...run, seconds: (performance.now() - started) / 1000 };
}

let dead: string;
let dir: string;
beforeAll(async () => {
  dead = `127.0.0.1:${await freePort()}`;
  dir = await mkdtemp(join(tmpdir(), 'e11-cli-unreachable-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await service.close();
  await unreachable.terminate();
});

describe.concurrent('an SDK read when Firestore cannot be reached', () => {
  it('rejects with E11_UNAVAILABLE, a hint and the gRPC error as cause, not a raw gRPC error', async ({
    expect,
  }) => {
    // All at once: each waits out the Firestore client's own retries (about 45 s).
    const errors = await Promise.all([
      rejection(new Schedules(service).list()),
      rejection(service.getOrchestration('unreachable-1')),
      rejection(service.listJobs('unreachable-1')),
      rejection(service.getJobResults('unreachable-1')),
      rejection(service.listPipelines()),
    ]);
    for (const error of errors) {
      expect(isE11Error(error, 'E11_UNAVAILABLE')).toBe(true);
      expect(error).toMatchObject({ retryable: true, context: { grpcCode: 14 } });
      expect(error.message).toMatch(/^Firestore: UNAVAILABLE: /);
      expect(error.context.hint).toContain('FIRESTORE_EMULATOR_HOST');
      expect(error.cause).toMatchObject({ code: 14 });
    }
  }, 120_000);
});

describe.concurrent('the built e11 executable when Firestore cannot be reached', () => {
  it('exits 5 with E11_UNAVAILABLE and a hint within the default 15 s read timeout, not a raw gRPC error', async ({
    expect,
  }) => {
    // With a read timeout longer than the Firestore client's retries, its own gRPC error reaches the
    // command: it is printed typed too.
    const [bounded, clientGaveUp] = await Promise.all([
      timed(['status', 'some-orchestration'], { FIRESTORE_EMULATOR_HOST: dead }),
      timed(['--read-timeout', '3m', 'status', 'some-orchestration'], { FIRESTORE_EMULATOR_HOST: dead }),
    ]);
    expect(clientGaveUp.stdout).toBe('');
    expect(clientGaveUp.stderr).toMatch(
      /^e11: Firestore: UNAVAILABLE: No connection established\..* \(E11_UNAVAILABLE\)\nhint: Is the Firestore emulator running at 127\.0\.0\.1:\d+ \(FIRESTORE_EMULATOR_HOST\)\?\n$/,
    );
    expect(clientGaveUp.code).toBe(5);
    const { code, stdout, stderr, seconds } = bounded;
    expect(stdout).toBe('');
    expect(stderr).toBe(
      'e11: Firestore did not answer within 15s (--read-timeout / E11_READ_TIMEOUT). (E11_UNAVAILABLE)\n' +
        `hint: Is the Firestore emulator running at ${dead} (FIRESTORE_EMULATOR_HOST)?\n`,
    );
    expect(code).toBe(5);
    expect(seconds).toBeGreaterThanOrEqual(15);
    expect(seconds).toBeLessThan(25);
    expect(clientGaveUp.seconds).toBeGreaterThan(25); // the Firestore client alone retries for about 45 s
  }, 120_000);

  // After the first, alone: it bounds the runs' seconds, with less room for processes starting together.
  it(
    'takes its read timeout from --read-timeout or E11_READ_TIMEOUT',
    { concurrent: false, timeout: 40_000 },
    async ({ expect }) => {
      const [flag, env] = await Promise.all([
        timed(['--read-timeout', '2s', '--json', 'history'], { FIRESTORE_EMULATOR_HOST: dead }),
        timed(['jobs', 'some-orchestration'], { FIRESTORE_EMULATOR_HOST: dead, E11_READ_TIMEOUT: '3s' }),
      ]);
      expect(flag.stderr).toContain('within 2s');
      expect(env.stderr).toContain('within 3s');
      for (const run of [flag, env]) {
        expect(run.code).toBe(5);
        expect(run.stderr).toContain('(E11_UNAVAILABLE)\nhint: Is the Firestore emulator running at');
        // Cut short: the Firestore client's own retries alone take about 45 s. The margin over the 2-3 s
        // timeout is for the process start on a loaded machine (13 s seen once with the bound at 12).
        expect(run.seconds).toBeLessThan(30);
      }
    },
  );

  it(
    'refuses a read timeout that is not a duration with exit 2, before connecting',
    { concurrent: false },
    async ({ expect }) => {
      const { code, stderr } = await timed(['--read-timeout', 'soon', 'status', 'x'], {
        FIRESTORE_EMULATOR_HOST: dead,
      });
      expect(stderr).toBe(
        "e11: --read-timeout: expected a duration like 30s, 10m, 2h, 7d, got 'soon'. (E11_INVALID_OPTIONS)\n",
      );
      expect(code).toBe(2);
    },
  );
});

// After the waits above, not alongside: processes starting together slow each other's start, which
// the read-timeout tests above measure. One test after the other, as the first checks that nothing
// was written under r_ in the project, where the second kicks off too.
describe('the region of the built e11 executable', () => {
  it('refuses a launching command without a region, exit 2, before anything is written', async ({
    expect,
  }) => {
    const params = join(dir, 'params.jsonl');
    await writeFile(params, '{"a":1}\n');
    const { code, stderr } = await timed(['--prefix', 'r_', 'kickoff', 'process_batch', '--params', params], {
      E11_REGION: '',
    });
    expect(stderr).toMatch(/^e11: region: e11 kickoff needs a Cloud Run region; .*--region.*E11_REGION/);
    expect(stderr).toContain('(E11_INVALID_OPTIONS)\nhint: ');
    expect(code).toBe(2);
    const { firestore } = emulatorClients(projectId);
    try {
      expect((await firestore.collection('r_orchestrations').limit(1).get()).empty).toBe(true);
    } finally {
      await firestore.terminate();
    }
  });

  it('reads the region from --region, and the project and region from the active gcloud configuration', async ({
    expect,
  }) => {
    const params = join(dir, 'params.jsonl');
    await writeFile(params, '{"a":1}\n');
    const gcloud = join(dir, 'gcloud');
    await mkdir(join(gcloud, 'configurations'), { recursive: true });
    await writeFile(join(gcloud, 'active_config'), 'e11\n');
    await writeFile(
      join(gcloud, 'configurations', 'config_e11'),
      `[core]\nproject = ${projectId}\n[run]\nregion = europe-west1\n`,
    );
    // Past the region check, the kick-off stops at its topic check (no topic in this test's project):
    // the region was found. Without GOOGLE_CLOUD_PROJECT the project comes from the configuration.
    const fromConfig = await timed(['--prefix', 'r_', 'kickoff', 'process_batch', '--params', params], {
      CLOUDSDK_CONFIG: gcloud,
      GOOGLE_CLOUD_PROJECT: '',
      E11_REGION: '',
    });
    const fromFlag = await timed(
      ['--region', 'europe-west1', '--prefix', 'r_', 'kickoff', 'process_batch', '--params', params],
      { E11_REGION: '' },
    );
    for (const run of [fromConfig, fromFlag]) {
      expect(run.stderr).not.toContain('region');
      expect(run.stderr).toContain('(E11_UNKNOWN_TOPIC)');
    }
  });
});
