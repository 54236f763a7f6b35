import { randomBytes } from 'node:crypto';

import {
  checkCompletion,
  cloudRunTaskEnv,
  type EventPublisher,
  type StatusCounts,
  type Store,
  TaskEnvName,
} from '@e11/core';
import { executeJob, createRunnerLogger } from '@e11/runner';
import { type LaunchRequest, type LaunchResult, type TaskLauncher } from '@e11/sdk';
import type { Firestore } from '@google-cloud/firestore';
import PQueue from 'p-queue';

import { BenchSumJob } from './bench-jobs.js';

/**
 * A launcher that runs each task's runner logic in this process (10,000 task processes do not fit a
 * 2-core machine), with the env Cloud Run would give it, and then runs what the `onJobWritten`
 * function does for the job's terminal write (one completion check, and for a `maxParallel`
 * orchestration the admission of the next jobs: `admit`). It counts launch requests — the Cloud Run
 * API calls a real launcher would make.
 */
export class InProcessLauncher implements TaskLauncher {
  apiCalls = 0;
  /** What `onJobWritten` does after the check of a limited job's end (set for maxParallel runs). */
  admit: ((orchestrationId: string, counts?: StatusCounts) => Promise<unknown>) | undefined;
  /** Admit after every end, also of an ended orchestration (its slot of the region's budget is free). */
  admitOnEveryEnd = false;
  private readonly queue: PQueue;
  private readonly logger = createRunnerLogger({ level: 'silent' });
  private readonly failures: unknown[] = [];

  constructor(
    private readonly firestore: Firestore,
    private readonly store: Store,
    private readonly publisher: EventPublisher,
    concurrency = 32,
  ) {
    this.queue = new PQueue({ concurrency });
  }

  launch(request: LaunchRequest): Promise<LaunchResult> {
    this.apiCalls++;
    const execution = `${request.service}-${randomBytes(3).toString('hex').slice(0, 5)}`;
    for (let index = 0; index < request.taskCount; index++) {
      const task = this.queue.add(async () => {
        const result = await executeJob({
          classes: [BenchSumJob],
          firestore: this.firestore,
          logger: this.logger,
          env: {
            ...request.env,
            ...cloudRunTaskEnv({
              job: request.service,
              execution,
              taskIndex: index,
              taskAttempt: 0,
              taskCount: request.taskCount,
            }),
            [TaskEnvName.heartbeatIntervalMs]: '60000',
          },
        });
        if (!result.orchestrationId) return;
        const check = await checkCompletion(
          { store: this.store, publisher: this.publisher },
          result.orchestrationId,
        );
        if (this.admit && (check.outcome === 'open' || this.admitOnEveryEnd)) {
          await this.admit(result.orchestrationId, 'counts' in check ? check.counts : undefined);
        }
      });
      task.catch((error: unknown) => this.failures.push(error));
    }
    return Promise.resolve({
      executionName: `projects/bench/locations/local/jobs/${request.service}/executions/${execution}`,
    });
  }

  /** Resolves when every task launched so far has finished; rejects with the first task that threw. */
  async idle(): Promise<void> {
    await this.queue.onIdle();
    if (this.failures.length > 0) throw this.failures[0] as Error;
  }

  cancel(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return this.queue.onIdle();
  }
}
