import type { OrchestrationService } from '@e11/sdk';
import type { Command } from 'commander';

import { collect } from '../arguments.js';
import type { CommandAction } from '../command-action.js';
import { type CliIo, ExitCode, writeJson, writeLines } from '../io.js';

/** Arguments of `e11 retry`. */
export interface RetryArgs {
  orchestrationId: string;
  /** Only these jobs (default: every failed, not discarded, job). */
  jobIds?: string[];
  json?: boolean;
}

/** `e11 retry <id> [--job <jobId>]…`: relaunches failed jobs with their original params. */
export async function retryCommand(
  service: OrchestrationService,
  args: RetryArgs,
  io: CliIo,
): Promise<number> {
  const result = await service.retryFailed(args.orchestrationId, {
    jobIds: args.jobIds && args.jobIds.length > 0 ? args.jobIds : undefined,
  });
  if (args.json) {
    writeJson(io, result);
  } else if (result.jobIds.length === 0) {
    writeLines(io, 'Nothing to retry: no failed jobs.');
  } else {
    writeLines(
      io,
      `Retrying ${result.jobIds.length} job(s) in run ${result.epoch}: ${result.launch.launched} launched, ${result.launch.failed} failed.`,
    );
  }
  return result.launch.failed > 0 ? ExitCode.Failed : ExitCode.Ok;
}

/** Registers `e11 retry <id>`. */
export function registerRetryCommand(program: Command, action: CommandAction, io: CliIo): void {
  program
    .command('retry <id>')
    .description('relaunch failed jobs with their original params')
    .option('--job <jobId>', 'only this job (repeatable)', collect)
    .action(
      action(
        (json, orchestrationId: string, opts: { job?: string[] }) => (service) =>
          retryCommand(service, { orchestrationId, jobIds: opts.job, json }, io),
        { launches: true },
      ),
    );
}
