import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { type JobDoc, parseJobDocument, type Store } from '@e11/core';
import { type LaunchRequest, OrchestrationService } from '@e11/sdk';
import { inject } from 'vitest';

import { ensureTopic } from './monitoring.js';
import { emulatorClients, storeFor, testProjectId } from './project.js';
import { RecordingLauncher } from './recording-launcher.js';
import { waitForSnapshot } from './wait-for.js';

/** The fixture task entrypoint (test/fixtures/src/runner-entrypoint.ts, built by `tsc -b`). */
export const RUNNER_ENTRYPOINT = fileURLToPath(
  new URL('../fixtures/dist/runner-entrypoint.js', import.meta.url),
);

/** A runner task process started by a test. */
export interface RunnerProcess {
  child: ChildProcess;
  /** Everything it printed so far. */
  output(): string;
  /** Its stdout, parsed as JSON log lines. */
  logLines(): Record<string, unknown>[];
  /** Resolves when it exits. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts a task process the way Cloud Run would: the launch request's env overrides (JOB_NAME,
 * ORCHESTRATION_ID, JOB_ID) plus the emulator host, the project and short heartbeat/grace periods.
 */
export function spawnRunner(
  projectId: string,
  request: Pick<LaunchRequest, 'env'> | { env: Record<string, string> },
  extraEnv: Record<string, string> = {},
  entrypoint = RUNNER_ENTRYPOINT,
): RunnerProcess {
  const child = spawn(process.execPath, [entrypoint], {
    env: {
      PATH: process.env.PATH ?? '',
      FIRESTORE_EMULATOR_HOST: inject('firestoreHost'),
      GOOGLE_CLOUD_PROJECT: projectId,
      E11_HEARTBEAT_INTERVAL_MS: '200',
      E11_TERMINATION_GRACE_MS: '1500',
      ...request.env,
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    output: () => stdout + stderr,
    logLines: () =>
      stdout
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    exited,
  };
}

/** Resolves with the job document as soon as `predicate` holds for it (a real-time listener, no polling). */
export function waitForJob(
  store: Store,
  orchestrationId: string,
  jobId: string,
  predicate: (job: JobDoc) => boolean,
  timeoutMs = 20_000,
): Promise<JobDoc> {
  return waitForSnapshot(
    store.collections.job(orchestrationId, jobId),
    (snapshot) => {
      // Parsed, so fields a job has not written yet read as their defaults (null), not undefined.
      const job = snapshot.exists ? parseJobDocument(snapshot) : undefined;
      return job && predicate(job) ? job : undefined;
    },
    { what: `job ${jobId} reaching the expected state`, timeoutMs },
  );
}

/** Kick-off options of {@link RunnerHarness.kickOff}. */
export type KickOffOptions = Parameters<OrchestrationService['kickOffJob']>[2];

/** One test file's project, SDK and launcher, for starting runner tasks the way the SDK would. */
export interface RunnerHarness {
  projectId: string;
  orchestrations: OrchestrationService;
  store: Store;
  /** The Pub/Sub client of the project (for the topic of completion events). */
  pubsub: ReturnType<typeof emulatorClients>['pubsub'];
  /** Every launch request kickOffJob made (nothing is started). */
  launcher: RecordingLauncher;
  /** Kicks off one job (per-job mode) and returns the env Cloud Run would give its task. */
  kickOff: (
    jobName: string,
    params: Record<string, unknown>,
    options?: KickOffOptions,
  ) => Promise<{ orchestrationId: string; jobId: string; request: LaunchRequest }>;
  /** Spawns a runner task in this harness's project. */
  spawn(
    request: { env: Record<string, string> },
    extraEnv?: Record<string, string>,
    entrypoint?: string,
  ): RunnerProcess;
  close: () => Promise<void>;
}

/**
 * A project of its own plus a real OrchestrationService whose launcher records the launch requests
 * (the env overrides kickOffJob would send to Cloud Run) instead of starting anything: tests then start
 * the task process themselves, with that env, and control its signals.
 */
export function runnerHarness(name: string): RunnerHarness {
  const projectId = testProjectId(name);
  const { firestore, pubsub } = emulatorClients(projectId);
  const launcher = new RecordingLauncher();
  const orchestrations = new OrchestrationService({
    firestore,
    pubsub,
    launcher,
    launch: { ratePerMinute: 100_000 },
  });
  let topicReady: Promise<void> | undefined;
  return {
    projectId,
    orchestrations,
    store: storeFor(firestore),
    pubsub,
    launcher,
    kickOff: async (jobName, params, options = {}) => {
      await (topicReady ??= ensureTopic(pubsub)); // kickOffJob checks that its event's topic exists
      const { orchestrationId, jobIds } = await orchestrations.kickOffJob(
        jobName,
        [params as never],
        options,
      );
      const jobId = jobIds[0];
      const request = launcher.requests.find((r) => r.env.JOB_ID === jobId);
      if (!jobId || !request) throw new Error('no launch recorded');
      return { orchestrationId, jobId, request };
    },
    spawn: (request, extraEnv, entrypoint) => spawnRunner(projectId, request, extraEnv, entrypoint),
    close: async () => {
      await orchestrations.close();
      await firestore.terminate();
      await pubsub.close();
    },
  };
}
