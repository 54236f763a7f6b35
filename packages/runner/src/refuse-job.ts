import {
  E11Error,
  ErrorCode,
  failJob,
  failPendingJob,
  type JobDoc,
  JobStatus,
  type Logger,
  recordJobsEnded,
  type Store,
  TaskEnvName,
} from '@e11/core';

import { toJobErrorInfo } from './error-info.js';
import { ExitCode, type ExecuteJobResult } from './outcome.js';
import { persist } from './persist.js';

/**
 * A task whose JOB_NAME is not its job's (a wrong image, a mis-mapped job, a hand-made env): it must
 * not run the job nor pass silently, whatever the job's state, so it refuses before claiming with
 * E11_JOB_NAME_MISMATCH (exit 2). A job still `Pending` is ended `Errored` with that error (not
 * retryable) so the mistake shows; a job that has ended, or that a task is running, is left as it is:
 * this task has no claim on it, and a correct task may be running it.
 */
export async function refuseJobName(input: {
  store: Store;
  job: JobDoc;
  jobName: string;
  redact: (text: string) => string;
  log: Logger;
}): Promise<ExecuteJobResult> {
  const { store, job } = input;
  const message = `${TaskEnvName.jobName} is '${input.jobName}' but job ${job.id} belongs to '${job.jobName}': the task was started with the wrong env or image.`;
  const ids = { orchestrationId: job.orchestrationId, jobId: job.id };
  const error = new E11Error(ErrorCode.JobNameMismatch, message, {
    context: { ...ids, jobName: input.jobName },
  });
  let ended = false;
  if (job.status === JobStatus.Pending) {
    const info = toJobErrorInfo(
      error,
      { ...ids, jobName: job.jobName, attempt: job.attempt },
      { redact: input.redact, retryable: false },
    );
    ended = await persist(() => failPendingJob(store, { ...ids, error: info, known: job }));
  }
  input.log.error({ code: error.code }, message);
  return {
    ...ids,
    exitCode: ExitCode.Config,
    outcome: 'invalid',
    status: ended ? JobStatus.Errored : job.status,
  };
}

/**
 * A claimed job whose name no class of this image carries (`@JobName`): ends it `Errored` with
 * E11_UNKNOWN_JOB_NAME (not retryable: another attempt of the same image cannot run it either), exit 2.
 */
export async function refuseUnknownClass(input: {
  store: Store;
  job: JobDoc;
  claimId: string;
  attempt: number;
  jobName: string;
  known: readonly string[];
  redact: (text: string) => string;
  log: Logger;
}): Promise<ExecuteJobResult> {
  const { store, job, jobName } = input;
  const message =
    `No job class is named '${jobName}' in this image (known: ${input.known.join(', ') || 'none'}): ` +
    `check the @JobName of your classes and the job name passed to kickOffJob.`;
  const error = new E11Error(ErrorCode.UnknownJobName, message, { context: { jobName } });
  const owned = { orchestrationId: job.orchestrationId, jobId: job.id, claimId: input.claimId };
  const info = toJobErrorInfo(
    error,
    { ...owned, jobName: job.jobName, attempt: input.attempt },
    { redact: input.redact, retryable: false },
  );
  const written = await persist(() =>
    failJob(store, { ...owned, error: info, outcome: 'Errored', final: true, deadLettered: false }),
  );
  input.log.error(message);
  if (written === 'recorded') recordJobsEnded('@e11/runner', { jobName: job.jobName, status: 'Errored' });
  const status = written === 'recorded' ? JobStatus.Errored : undefined;
  const ids = { orchestrationId: job.orchestrationId, jobId: job.id };
  return { ...ids, exitCode: ExitCode.Config, outcome: 'invalid', attempt: input.attempt, status };
}
