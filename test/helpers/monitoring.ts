import { randomUUID } from 'node:crypto';

import {
  checkCompletion,
  claimJob,
  completeJob,
  createPubSubPublisher,
  DEFAULTS,
  failJob,
  type Store,
} from '@e11/core';
import { OrchestrationService, type PipelineDefinition } from '@e11/sdk';
import type { Firestore } from '@google-cloud/firestore';
import type { PubSub } from '@google-cloud/pubsub';
import type { Observable, Subscription } from 'rxjs';

import { RecordingLauncher } from './recording-launcher.js';

/**
 * What the monitoring, CLI and dashboard tests share: a service on the emulators whose launcher
 * records launches (no task runs), and the real store functions a task would call, so each test
 * drives jobs through their states itself and watches what the monitoring side makes of it.
 */

/**
 * A service with its own collection prefix, a recording launcher, and the real Pub/Sub publisher;
 * `pipelines` registers pipeline definitions (a stage's kick-off only records its launches too).
 */
export function monitoringService(
  firestore: Firestore,
  pubsub: PubSub,
  collectionPrefix: string,
  options: { pipelines?: readonly PipelineDefinition[] } = {},
): OrchestrationService {
  return new OrchestrationService({
    firestore,
    pubsub,
    launcher: new RecordingLauncher(),
    collectionPrefix,
    launch: { ratePerMinute: 100_000, initialBackoff: 1, maxBackoff: 5 },
    ...options,
  });
}

/** Creates the default JobCompletedEvent topic in the emulator (once per project). */
export async function ensureTopic(pubsub: PubSub, name: string = DEFAULTS.topic): Promise<void> {
  const [exists] = await pubsub.topic(name).exists();
  if (!exists)
    await pubsub.createTopic(name).catch((error: { code?: number }) => {
      if (error.code !== 6) throw error;
    });
}

/** Claims a job the way a task does; returns the claim id that finishing the job needs. */
export async function claim(store: Store, orchestrationId: string, jobId: string): Promise<string> {
  const claimId = randomUUID();
  const result = await claimJob(store, {
    orchestrationId,
    jobId,
    claim: { id: claimId, executionName: null, taskIndex: null, taskAttempt: null },
    maxAttempts: 1,
    heartbeatTimeoutMs: 60_000,
  });
  if (result.outcome !== 'claimed') throw new Error(`could not claim ${jobId}: ${result.outcome}`);
  return claimId;
}

/** Claims and completes a job with `result`. */
export async function runToCompletion(
  store: Store,
  orchestrationId: string,
  jobId: string,
  result: unknown = null,
) {
  const claimId = await claim(store, orchestrationId, jobId);
  const outcome = await completeJob(store, { orchestrationId, jobId, claimId, result });
  if (outcome !== 'recorded') throw new Error(`could not complete ${jobId}`);
}

/**
 * Claims a job and fails it for good with `message` and `code` (dead-lettered unless `deadLettered`
 * is false; `stack` is the error's stack, none by default).
 */
export async function runToFailure(
  store: Store,
  orchestrationId: string,
  jobId: string,
  message = 'boom',
  code = 'E11_JOB_FAILED',
  { stack = null, deadLettered = true }: { stack?: string | null; deadLettered?: boolean } = {},
): Promise<void> {
  const claimId = await claim(store, orchestrationId, jobId);
  const outcome = await failJob(store, {
    orchestrationId,
    jobId,
    claimId,
    outcome: 'Errored',
    final: true,
    deadLettered,
    error: {
      message,
      code,
      name: 'Error',
      stack,
      jobName: 'process_batch',
      orchestrationId,
      jobId,
      attempt: 1,
      retryable: false,
    },
  });
  if (outcome !== 'recorded') throw new Error(`could not fail ${jobId}`);
}

/** Runs completion detection the way the onJobWritten function does (marker + event on the emulator). */
export async function detectCompletion(store: Store, pubsub: PubSub, orchestrationId: string) {
  return checkCompletion({ store, publisher: createPubSubPublisher(pubsub) }, orchestrationId);
}

/** Subscribes and records everything; `waitFor` resolves on the first value (from `from` on) matching. */
export class Recorder<T> {
  private static readonly all = new Set<Recorder<unknown>>();
  readonly values: T[] = [];
  completed = false;
  error: unknown;
  readonly subscription: Subscription;
  private waiters: (() => void)[] = [];
  readonly done: Promise<void>;

  /** Unsubscribes every recorder created so far (for afterEach). */
  static unsubscribeAll(): void {
    for (const recorder of Recorder.all) recorder.subscription.unsubscribe();
    Recorder.all.clear();
  }

  constructor(observable: Observable<T>) {
    Recorder.all.add(this);
    let settle: () => void = () => undefined;
    this.done = new Promise<void>((resolve) => (settle = resolve));
    this.subscription = observable.subscribe({
      next: (value) => {
        this.values.push(value);
        this.notify();
      },
      complete: () => {
        this.completed = true;
        settle();
        this.notify();
      },
      error: (error: unknown) => {
        this.error = error;
        settle();
        this.notify();
      },
    });
  }

  /** The first value at or after index `from` matching `predicate` (fails if the stream ends first). */
  async waitFor(predicate: (value: T) => boolean, from = 0): Promise<T> {
    for (;;) {
      const found = this.values.slice(from).find(predicate);
      if (found !== undefined) return found;
      if (this.completed || this.error !== undefined) {
        throw new Error(
          `stream ended without a matching value (${this.completed ? 'completed' : 'errored'})`,
          {
            cause: this.error,
          },
        );
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  private notify() {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}
