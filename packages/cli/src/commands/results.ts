import type { OrchestrationService } from '@e11/sdk';
import type { Command } from 'commander';

import { parseDuration } from '../arguments.js';
import type { CommandAction } from '../command-action.js';
import { type CliIo, ExitCode, writeJson, writeLines } from '../io.js';

/** Arguments of `e11 results`. */
export interface ResultsArgs {
  orchestrationId: string;
  timeoutMs?: number;
  json?: boolean;
}

/**
 * `e11 results <id> [--timeout 10m]`: waits for the end and prints successes and failures (each
 * failure with its params and error, redacted by `getJobResults` with the orchestration's sensitive keys). Exits 0 when nothing failed, 1
 * otherwise, 3 for an unknown id, 4 on timeout, 130 on Ctrl-C.
 */
export async function resultsCommand(
  service: OrchestrationService,
  args: ResultsArgs,
  io: CliIo,
): Promise<number> {
  let results;
  try {
    results = await service.getJobResults(args.orchestrationId, {
      timeoutMs: args.timeoutMs,
      signal: io.signal,
    });
  } catch (error) {
    if (io.signal?.aborted) return ExitCode.Interrupted;
    throw error;
  }
  const [successes, failures] = results;
  const failed = failures ?? [];
  if (args.json) {
    writeJson(io, {
      orchestrationId: args.orchestrationId,
      succeeded: successes.length,
      failed: failed.length,
      successes,
      failures: failures === null ? null : failed,
    });
  } else {
    writeLines(io, `${successes.length} succeeded, ${failed.length} failed`);
    for (const failure of failed) {
      writeLines(
        io,
        `  #${failure.index} ${failure.jobId}  ${failure.status}  ${failure.error.code}: ${failure.error.message.replace(/\s+/g, ' ')}`,
        `      params ${JSON.stringify(failure.params)}${failure.deadLettered ? '  (dead-lettered)' : ''}`,
      );
    }
  }
  return failed.length > 0 ? ExitCode.Failed : ExitCode.Ok;
}

/** Registers `e11 results <id>`. */
export function registerResultsCommand(program: Command, action: CommandAction, io: CliIo): void {
  program
    .command('results <id>')
    .description('wait for the end and print successes and failures')
    .option('--timeout <duration>', 'give up after this long (exit 4), e.g. 10m')
    .action(
      action(
        (json, orchestrationId: string, opts: { timeout?: string }) => (service) =>
          resultsCommand(
            service,
            { orchestrationId, json, timeoutMs: parseDuration(opts.timeout, '--timeout') },
            io,
          ),
      ),
    );
}
