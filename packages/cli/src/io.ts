import type { Writable } from 'node:stream';

import { ErrorCode, isE11Error } from '@e11/core';

/** Where a command writes. `isTTY` decides between a progress bar and plain lines. */
export interface CliIo {
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable & { isTTY?: boolean };
  /** Aborted on Ctrl-C: long-running commands (watch, results, dashboard) stop cleanly. */
  signal?: AbortSignal;
  /** The environment (E11_DEBUG prints stacks). @default process.env */
  env?: Record<string, string | undefined>;
}

/**
 * Exit codes of `e11`, for scripts: 0 ok; 1 the orchestration failed or the command failed;
 * 2 usage or bad input; 3 not found; 4 timeout; 5 Google Cloud (or the emulator) could not be reached
 * or refused the credentials (`E11_UNAVAILABLE`, `E11_FORBIDDEN`); 130 interrupted (Ctrl-C).
 */
export const ExitCode = {
  Ok: 0,
  Failed: 1,
  Usage: 2,
  NotFound: 3,
  Timeout: 4,
  Unavailable: 5,
  Interrupted: 130,
} as const;

const NOT_FOUND = new Set<string>([
  ErrorCode.UnknownOrchestration,
  ErrorCode.UnknownJob,
  ErrorCode.UnknownSchedule,
  ErrorCode.UnknownPipeline,
]);
const BAD_INPUT = new Set<string>([
  ErrorCode.InvalidParams,
  ErrorCode.InvalidJobName,
  ErrorCode.InvalidOptions,
  ErrorCode.InvalidCursor,
  ErrorCode.TooManyJobs,
  ErrorCode.InvalidSchedule,
]);

/** The exit code for an error a command threw. */
export function exitCodeFor(error: unknown): number {
  if (isE11Error(error)) {
    if (NOT_FOUND.has(error.code)) return ExitCode.NotFound;
    if (BAD_INPUT.has(error.code)) return ExitCode.Usage;
    if (error.code === ErrorCode.Timeout) return ExitCode.Timeout;
    if (error.code === ErrorCode.Unavailable || error.code === ErrorCode.Forbidden)
      return ExitCode.Unavailable;
  }
  return ExitCode.Failed;
}

/**
 * One readable line, `e11: <message> (<code>)`, then `hint: <what to try>` when the error carries one
 * (`context.hint`); the stack only with E11_DEBUG=1.
 */
export function formatError(error: unknown, debug = false): string {
  const message = error instanceof Error ? error.message : String(error);
  const oneLine = message.replace(/\s*\n\s*/g, ' ').trim();
  const code = isE11Error(error) ? ` (${error.code})` : '';
  const hint =
    isE11Error(error) && typeof error.context.hint === 'string' ? `\nhint: ${error.context.hint}` : '';
  const stack = debug && error instanceof Error && error.stack ? `\n${error.stack}` : '';
  return `e11: ${oneLine}${code}${hint}${stack}\n`;
}

/** Writes one JSON document on its own line (`--json` output). */
export function writeJson(io: CliIo, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value)}\n`);
}

/** Writes lines to stdout. */
export function writeLines(io: CliIo, ...lines: string[]): void {
  io.stdout.write(lines.map((line) => `${line}\n`).join(''));
}
