import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';

import {
  createFirestore,
  DEFAULTS,
  grpcCodeOf,
  GrpcStatus,
  loadPipelinesModule,
  TaskEnvName,
} from '@e11/core';
import { createPubSub } from '@e11/core/engine';
import { OrchestrationService, startLocalScheduler, type SweepOptions, type SweepReport } from '@e11/sdk';

import {
  type CloudRunEmulator,
  CloudRunEmulatorError,
  type CloudRunEmulatorConfig,
  type CloudRunEmulatorOptions,
  startCloudRunEmulator,
} from './cloud-run/index.js';
import { type StackError, toStackError } from './errors.js';
import { type FunctionsServer, startFunctionsServer } from './functions-server.js';
import { startGoogleEmulators } from './google-emulators.js';
import { resolveStackPaths, type StackPaths, type StackPathsOptions, statePath } from './paths.js';
import { assertPortsFree, resolvePorts, type StackPorts } from './ports.js';
import { traceCollectorEnv } from './telemetry/trace-collector.js';
import { registerJobTrigger, type RegisteredTrigger, startTriggerBridge } from './trigger-bridge/index.js';

/**
 * Options for {@link startStack}. `firebaseConfig`, `stateDir` and `cwd` (from
 * {@link StackPathsOptions}) choose the firebase.json and the state directory.
 */
export interface StackOptions extends StackPathsOptions {
  /** @default 'demo-e11' (a `demo-` id keeps firebase-tools from looking for credentials) */
  projectId?: string;
  /** Job definitions of the Cloud Run emulator: a config file path or an object. */
  cloudRun: string | CloudRunEmulatorConfig;
  /** Tuning of the Cloud Run emulator (task concurrency, kill grace, output callback). */
  cloudRunOptions?: Pick<
    CloudRunEmulatorOptions,
    'maxConcurrentTasks' | 'killGraceMs' | 'onTaskOutput' | 'limits'
  >;
  /** @default DEFAULTS.collectionPrefix */
  collectionPrefix?: string;
  /**
   * The Firestore database E11 uses: the trigger is registered on it, and the functions, the tasks and
   * the sweeper get it (E11_FIRESTORE_DATABASE). The emulator creates a named database on first use.
   * @default DEFAULTS.firestoreDatabase
   */
  databaseId?: string;
  /**
   * The Cloud Run region of the stack (the emulator serves any): the functions, the sweeper and every
   * process using `stack.env` launch there (E11_REGION). @default E11_REGION of this process, or
   * `us-central1`
   */
  region?: string;
  /** Topics to create in the Pub/Sub emulator. @default [DEFAULTS.topic] */
  topics?: string[];
  /** How often the sweeper runs (crashed tasks, lost triggers, failed publishes); 0 turns it off. @default DEFAULTS.sweepIntervalMs */
  sweepIntervalMs?: number;
  /** Options of each sweep (grace periods, retention). */
  sweepOptions?: SweepOptions;
  /**
   * How often the local scheduler ticks the schedules (the same tick the `schedulerTick` function runs
   * for Cloud Scheduler in production); 0 turns it off. @default DEFAULTS.localSchedulerIntervalMs
   */
  schedulerIntervalMs?: number;
  /**
   * The module that exports the pipelines (`definePipeline`) of this stack: an absolute file path or a
   * package name. The functions process gets it as E11_PIPELINES_MODULE (it starts the stages) and the
   * sweeper loads it too. @default E11_PIPELINES_MODULE of this process, or none
   */
  pipelinesModule?: string;
  /** Extra environment of the functions process (e.g. E11_LOG_LEVEL, or PUBSUB_EMULATOR_HOST through a fault proxy). */
  functionsEnv?: Record<string, string>;
  /**
   * Collect traces in this directory: every task and the functions process start with an
   * OpenTelemetry SDK (`node --import @e11/emulators/telemetry/preload`, E11_TRACE_DIR) that appends
   * their spans to `<dir>/<pid>.jsonl`, as a job image or a functions deployment would register its
   * own SDK. Register the same in the calling process with `registerTraceCollector({ dir })` and read
   * the spans with `readTraces(dir)` (`@e11/emulators/telemetry`). @default no trace collection
   */
  traceDir?: string;
  /** Receives progress lines while the stack starts. */
  onStatus?: (line: string) => void;
  /** @default the firebase.json in use and the E11_*_PORT variables */
  ports?: StackPorts;
  /** Bound on the emulators' start-up. @default 120000 */
  startTimeoutMs?: number;
  /**
   * Use Firestore/Pub/Sub emulators and a trigger bridge that already run (the test suite's global
   * setup) instead of starting them; the functions server and the Cloud Run emulator then take free ports.
   */
  attach?: { firestoreHost: string; pubsubHost: string; bridgeUrl: string };
}

/** The running local stack. */
export interface Stack {
  readonly projectId: string;
  readonly collectionPrefix: string;
  /** The Firestore database E11 uses on this stack. */
  readonly databaseId: string;
  /** The firebase.json used and the state directory. */
  readonly paths: StackPaths;
  /**
   * The environment a process needs to use the stack: FIRESTORE_EMULATOR_HOST, PUBSUB_EMULATOR_HOST,
   * E11_CLOUD_RUN_EMULATOR_HOST, GOOGLE_CLOUD_PROJECT, E11_REGION, E11_SCHEDULE_TICKER (and E11_COLLECTION_PREFIX and
   * E11_FIRESTORE_DATABASE when not the defaults).
   */
  readonly env: Readonly<Record<string, string>>;
  readonly firestoreHost: string;
  readonly pubsubHost: string;
  readonly bridgeUrl: string;
  readonly cloudRun: CloudRunEmulator;
  readonly functions: FunctionsServer;
  /** The job trigger: delivery stats of the Firestore → function path. */
  readonly trigger: RegisteredTrigger;
  /** Runs one sweep now (the timer also runs them). */
  sweep(): Promise<SweepReport>;
  /** Stops everything in reverse order; single-flight; no process is left. */
  stop(): Promise<void>;
}

/** A module specifier `import()` takes: an absolute path becomes a file URL, a package name stays. */
function pipelineModuleUrl(specifier: string): string {
  return isAbsolute(specifier) ? pathToFileURL(specifier).href : specifier;
}

/**
 * Starts the whole local stack, offline: the Firestore and Pub/Sub emulators (firebase-tools), the
 * trigger bridge and a Functions Framework server running `@e11/functions` (job writes → `onJobWritten`
 * CloudEvents, the same function code as in production), the Cloud Run Jobs emulator running tasks as
 * local processes, the topics, and the sweeper on a timer. Any failure stops what was started and
 * throws one {@link StackError} with a stable `code` (the original error is its `cause`).
 *
 * The Cloud Run emulator, the trigger bridge, the sweeper and the local scheduler run in the calling
 * process's event loop: keep it free (no long synchronous work) while jobs run.
 */
export async function startStack(options: StackOptions): Promise<Stack> {
  try {
    return await start(options);
  } catch (error) {
    throw toStackError(error, stackCodeOf(error), 'Could not start the local stack');
  }
}

/** The {@link StackError} code for a failure of one of the stack's parts. */
function stackCodeOf(error: unknown): StackError['code'] {
  if (!(error instanceof CloudRunEmulatorError)) return 'E11_STACK_START_FAILED';
  switch (error.code) {
    case 'E11_CLOUD_RUN_CONFIG_NOT_FOUND':
      return 'E11_STACK_CONFIG_NOT_FOUND';
    case 'E11_CLOUD_RUN_CONFIG_INVALID':
      return 'E11_STACK_CONFIG_INVALID';
    case 'E11_PORT_IN_USE':
      return 'E11_PORT_IN_USE';
    default:
      return 'E11_STACK_START_FAILED';
  }
}

async function start(options: StackOptions): Promise<Stack> {
  const projectId = options.projectId ?? 'demo-e11';
  const collectionPrefix = options.collectionPrefix ?? DEFAULTS.collectionPrefix;
  const databaseId = options.databaseId ?? DEFAULTS.firestoreDatabase;
  const region = options.region ?? (process.env.E11_REGION || 'us-central1');
  const status = options.onStatus ?? (() => undefined);
  const pipelinesModule = options.pipelinesModule ?? (process.env.E11_PIPELINES_MODULE || undefined);
  const paths = resolveStackPaths(options);
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
  };
  try {
    let firestoreHost: string;
    let pubsubHost: string;
    let bridgeUrl: string;
    let functionsPort = 0;
    let cloudRunPort = 0;
    let host = '127.0.0.1';
    if (options.attach) {
      ({ firestoreHost, pubsubHost, bridgeUrl } = options.attach);
    } else {
      const ports = options.ports ?? resolvePorts(paths);
      host = ports.host;
      functionsPort = ports.functions;
      cloudRunPort = ports.cloudRun;
      await assertPortsFree(host, {
        'trigger bridge': ports.bridge,
        'Functions Framework': ports.functions,
        'Cloud Run emulator': ports.cloudRun,
      });
      status('starting the Firestore and Pub/Sub emulators (firebase-tools)…');
      const google = await startGoogleEmulators({
        projectId,
        ports,
        startTimeoutMs: options.startTimeoutMs,
        firebaseConfig: paths.firebaseConfig,
        stateDir: paths.stateDir,
      });
      stops.push(() => google.stop());
      firestoreHost = google.firestoreHost;
      pubsubHost = google.pubsubHost;
      const bridge = await startTriggerBridge({ host, port: ports.bridge, firestoreHost });
      stops.push(() => bridge.stop());
      bridgeUrl = bridge.url;
    }
    const env: Record<string, string> = {
      FIRESTORE_EMULATOR_HOST: firestoreHost,
      PUBSUB_EMULATOR_HOST: pubsubHost,
      GOOGLE_CLOUD_PROJECT: projectId,
      E11_REGION: region,
      // The stack's local scheduler (or a test's own ticks) fires the schedules: see `Schedules`' ticker.
      E11_SCHEDULE_TICKER: 'external',
      ...(collectionPrefix === DEFAULTS.collectionPrefix
        ? {}
        : { [TaskEnvName.collectionPrefix]: collectionPrefix }),
      ...(databaseId === DEFAULTS.firestoreDatabase ? {} : { [TaskEnvName.firestoreDatabase]: databaseId }),
    };

    const traces = (service: string) =>
      options.traceDir === undefined ? {} : traceCollectorEnv(options.traceDir, service);

    status('starting the Cloud Run Jobs emulator…');
    const cloudRun = await startCloudRunEmulator({
      ...options.cloudRunOptions,
      host,
      port: cloudRunPort,
      config: options.cloudRun,
      // Node's on-disk compile cache makes every task process start faster (local only).
      env: { NODE_COMPILE_CACHE: statePath(paths, 'node-compile-cache'), ...env, ...traces('e11-task') },
    });
    stops.push(() => cloudRun.stop());

    status('starting the functions (Functions Framework) and the trigger…');
    const functions = await startFunctionsServer({
      port: functionsPort,
      // The completion function launches the jobs a `maxParallel` orchestration admits as others end.
      env: {
        ...env,
        E11_CLOUD_RUN_EMULATOR_HOST: cloudRun.endpoint,
        ...(pipelinesModule === undefined ? {} : { E11_PIPELINES_MODULE: pipelinesModule }),
        ...traces('e11-functions'),
        ...options.functionsEnv,
      },
    });
    stops.push(() => functions.stop());
    const trigger = await registerJobTrigger({
      firestoreHost,
      bridgeUrl,
      projectId,
      collectionPrefix,
      databaseId,
      target: functions.url,
    });
    stops.push(() => trigger.unroute());

    const pubsub = createPubSub({ projectId, emulatorHost: pubsubHost });
    try {
      for (const topic of options.topics ?? [DEFAULTS.topic]) {
        await pubsub.createTopic(topic).catch((error: unknown) => {
          if (grpcCodeOf(error) !== GrpcStatus.ALREADY_EXISTS) throw error;
        });
      }
    } finally {
      await pubsub.close();
    }

    // The sweeper runs here with the same SDK code the scheduled `sweep` function runs in production.
    const maintenanceFirestore = createFirestore({ projectId, emulatorHost: firestoreHost, databaseId });
    const maintenancePubSub = createPubSub({ projectId, emulatorHost: pubsubHost });
    const maintenance = new OrchestrationService({
      projectId,
      collectionPrefix,
      region,
      firestore: maintenanceFirestore,
      pubsub: maintenancePubSub,
      cloudRunEndpoint: cloudRun.endpoint,
      launch: { ratePerMinute: 6_000 },
      ...(pipelinesModule === undefined
        ? {}
        : { pipelines: await loadPipelinesModule(pipelineModuleUrl(pipelinesModule)) }),
    });
    stops.push(async () => {
      await maintenance.close();
      await maintenancePubSub.close();
      await maintenanceFirestore.terminate();
    });
    let sweeping: Promise<SweepReport> | undefined;
    const sweep = () =>
      (sweeping ??= maintenance.sweep(options.sweepOptions).finally(() => (sweeping = undefined)));
    const interval = options.sweepIntervalMs ?? DEFAULTS.sweepIntervalMs;
    if (interval > 0) {
      const timer = setInterval(() => void sweep().catch(() => undefined), interval);
      timer.unref();
      stops.push(async () => {
        clearInterval(timer);
        await sweeping?.catch(() => undefined);
      });
    }

    const tickEvery = options.schedulerIntervalMs ?? DEFAULTS.localSchedulerIntervalMs;
    if (tickEvery > 0) {
      const scheduler = startLocalScheduler({ service: maintenance, intervalMs: tickEvery });
      stops.push(() => scheduler.stop());
    }

    let stopping: Promise<void> | undefined;
    return {
      projectId,
      collectionPrefix,
      databaseId,
      paths,
      env: { ...env, E11_CLOUD_RUN_EMULATOR_HOST: cloudRun.endpoint },
      firestoreHost,
      pubsubHost,
      bridgeUrl,
      cloudRun,
      functions,
      trigger,
      sweep,
      stop: () => (stopping ??= stopAll()),
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
