import {
  checkCompletion,
  claimJob,
  type Clock,
  type JobParams,
  completeJob,
  createLogger,
  createPubSubPublisher,
  DEFAULTS,
  type Store,
} from '@e11/core';
import {
  type KickOffOptions,
  type KickOffResult,
  OrchestrationService,
  type OrchestrationServiceOptions,
  Schedules,
  type SchedulesOptions,
} from '@e11/sdk';

import { emulatorClients, storeFor, testProjectId } from './project.js';
import { RecordingLauncher } from './recording-launcher.js';

/** `kickOffJob` by job name, the form schedules fire with. */
export type KickOffByName = (
  jobName: string,
  params: readonly JobParams[],
  options?: KickOffOptions,
) => Promise<KickOffResult>;

/** A clock the test moves by hand: ticks see exactly the time the test set, no sleeping. */
export interface ManualClock extends Clock {
  set(at: string | number): void;
  advance(ms: number): void;
}

export function manualClock(start: string | number): ManualClock {
  let current = typeof start === 'number' ? start : Date.parse(start);
  return {
    now: () => current,
    set(at) {
      current = typeof at === 'number' ? at : Date.parse(at);
    },
    advance(ms) {
      current += ms;
    },
  };
}

/** One schedule test's world: its own collection prefix, a manual clock and a launcher that starts nothing. */
export interface ScheduleHarness {
  clock: ManualClock;
  launcher: RecordingLauncher;
  service: OrchestrationService;
  /** An unscoped store on the harness's prefix and clock, to check and set stored state directly. */
  store: Store;
  schedules: Schedules;
  /**
   * Another service on the same prefix, clock and launcher whose kick-off is `kickOffJob` — a tick in
   * another process that sees Firestore fail; closed with the testbed.
   */
  withKickOff(kickOffJob: KickOffByName): OrchestrationService;
  /** Ends an orchestration the way real tasks would: every job claimed and completed, then completion detection. */
  finish(orchestrationId: string): Promise<void>;
}

/**
 * Real Firestore and Pub/Sub emulator clients for one test file (its own project id) and a factory of
 * per-test harnesses (each with its own collection prefix, so tests never see each other's schedules).
 */
export function scheduleTestbed(name: string) {
  const projectId = testProjectId(name);
  const { firestore, pubsub } = emulatorClients(projectId);
  const publisher = createPubSubPublisher(pubsub);
  const services: OrchestrationService[] = [];
  let topic: Promise<unknown> | undefined;
  let count = 0;

  async function harness(
    start: string,
    options: { schedules?: SchedulesOptions; service?: OrchestrationServiceOptions } = {},
  ): Promise<ScheduleHarness> {
    // cancel() and completion detection publish the orchestration's end to the default topic.
    topic ??= pubsub.createTopic(DEFAULTS.topic);
    await topic;
    const clock = manualClock(start);
    const launcher = new RecordingLauncher();
    const collectionPrefix = `t${++count}_`;
    const serviceOptions: OrchestrationServiceOptions = {
      projectId,
      firestore,
      pubsub,
      launcher,
      clock,
      collectionPrefix,
      logger: createLogger('schedule-test', { level: 'silent' }),
      ...options.service,
    };
    const service = new OrchestrationService(serviceOptions);
    services.push(service);
    const store = storeFor(firestore, {
      collectionPrefix: serviceOptions.collectionPrefix,
      clock: serviceOptions.clock,
    });
    const withKickOff = (kickOffJob: KickOffByName) => {
      const other = new OrchestrationService(serviceOptions);
      services.push(other);
      // The service's overloads (dry run or not) are one function at run time.
      other.kickOffJob = kickOffJob as OrchestrationService['kickOffJob'];
      return other;
    };
    const schedules = new Schedules(service, options.schedules);
    const finish = async (orchestrationId: string) => {
      for (const job of await service.listJobs(orchestrationId)) {
        const claim = { id: `claim-${job.id}`, executionName: null, taskIndex: null, taskAttempt: null };
        await claimJob(store, {
          orchestrationId,
          jobId: job.id,
          claim,
          maxAttempts: 3,
          heartbeatTimeoutMs: 60_000,
        });
        await completeJob(store, { orchestrationId, jobId: job.id, claimId: claim.id, result: null });
      }
      await checkCompletion({ store, publisher }, orchestrationId);
    };
    return { clock, launcher, service, store, schedules, finish, withKickOff };
  }

  async function close() {
    await Promise.all(services.map((service) => service.close()));
    await pubsub.close();
    await firestore.terminate();
  }

  return { projectId, firestore, harness, close };
}
