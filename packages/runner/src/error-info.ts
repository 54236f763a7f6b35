import { boundJobError, ErrorCode, type JobErrorInfo } from '@e11/core';

/** The error fields stored on a job document, redacted and bounded. */
export function toJobErrorInfo(
  error: unknown,
  job: { jobName: string; orchestrationId: string; jobId: string; attempt: number },
  options: { redact: (text: string) => string; retryable: boolean },
): JobErrorInfo {
  const isError = error instanceof Error;
  const raw = isError ? error.message : typeof error === 'string' ? error : safeStringify(error);
  const code =
    typeof (error as { code?: unknown } | null)?.code === 'string'
      ? (error as { code: string }).code
      : ErrorCode.JobFailed;
  // Cut to the document budget (DEFAULTS.maxErrorMessageBytes, …) after redaction, so no cut splits a secret.
  return boundJobError({
    message: options.redact(raw || 'The job failed without a message.'),
    code,
    name: isError ? error.name : null,
    stack: isError && error.stack ? options.redact(error.stack) : null,
    jobName: job.jobName,
    orchestrationId: job.orchestrationId,
    jobId: job.jobId,
    attempt: job.attempt,
    retryable: options.retryable,
  });
}

function safeStringify(value: unknown): string {
  try {
    return `Non-Error thrown: ${JSON.stringify(value)}`;
  } catch {
    return `Non-Error thrown: ${String(value)}`;
  }
}
