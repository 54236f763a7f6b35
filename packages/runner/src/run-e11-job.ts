import { createFirestore, E11Error, ErrorCode, flushTelemetry } from '@e11/core';

import { activeSpanContext } from './attempt-trace.js';
import { executeJob, type ExecuteJobOptions } from './execute-job.js';
import type { JobClass } from './job-name.js';
import { createRunnerLogger } from './logger.js';
import { type ExecuteJobResult, ExitCode } from './outcome.js';

/** Options of {@link runE11Job}. */
export type RunE11JobOptions = Omit<ExecuteJobOptions, 'classes' | 'signal'> & {
  /** Exit the process with the task's exit code when done. @default true */
  exit?: boolean;
};

/**
 * The container entrypoint: `await runE11Job([ProcessBatchJob, ...])`. Runs the job named by the task
 * env (JOB_NAME, ORCHESTRATION_ID, JOB_ID — or CLOUD_RUN_TASK_INDEX in array mode), turns SIGTERM/SIGINT
 * (Cloud Run's timeout and cancellation) into the job's AbortSignal and records the interruption
 * within the grace period, logs unhandled rejections instead of crashing (an uncaught exception is
 * logged and ends the task like a crash), and exits with 0 (success),
 * 1 (failed), 2 (bad configuration) or 143 (interrupted) so Cloud Run's task status agrees.
 */
export async function runE11Job(
  classes: readonly JobClass[],
  options: RunE11JobOptions = {},
): Promise<ExecuteJobResult> {
  // Lines logged during an attempt carry its span's trace fields, with or without a context manager.
  const log = options.logger ?? createRunnerLogger({ traceContext: activeSpanContext });
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    log.logger.warn(`Received ${signal}: stopping the job.`);
    controller.abort(
      new E11Error(
        ErrorCode.Interrupted,
        `The task received ${signal} (Cloud Run task timeout or cancellation).`,
        {
          retryable: true,
        },
      ),
    );
  };
  const onRejection = (reason: unknown) =>
    log.logger.error({ err: reason }, 'Unhandled promise rejection in the job.');
  // A throw outside the job's promise (a timer callback, an emitter without an 'error' listener) leaves
  // the process in an unknown state: log it as one JSON line and exit 1 like a crash — Cloud Run's
  // task retry or the sweeper takes the job over.
  const onException = (error: Error) => {
    log.logger.error({ err: error }, `Uncaught exception in the job: ${error.message}`);
    process.exit(ExitCode.Failed);
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  let result: ExecuteJobResult;
  try {
    // The client is not terminated when the process exits anyway: closing its channels costs time at exit.
    const firestore = options.firestore ?? createFirestore();
    result = await executeJob({ ...options, classes, firestore, logger: log, signal: controller.signal });
    if (options.exit === false && !options.firestore) await firestore.terminate();
  } finally {
    process.removeListener('SIGTERM', onSignal);
    process.removeListener('SIGINT', onSignal);
    process.removeListener('unhandledRejection', onRejection);
    process.removeListener('uncaughtException', onException);
  }
  // A short-lived task's last metric points and spans are exported before it exits.
  await flushTelemetry({
    onError: (error) => log.logger.warn({ err: String(error) }, 'Telemetry could not be flushed.'),
  });
  if (options.exit !== false) {
    // A job that ignored its signal may still hold the event loop; the outcome is recorded, so leave.
    process.exit(result.exitCode);
  }
  return result;
}
