import type { OrchestrationService } from '@e11/sdk';
import type { Command } from 'commander';

import { collect, parsePositive } from '../arguments.js';
import type { CommandAction } from '../command-action.js';
import { table } from '../format.js';
import { type CliIo, ExitCode, writeJson, writeLines } from '../io.js';

/** Arguments of `e11 dlq list`. */
export interface DlqListArgs {
  orchestrationId?: string;
  jobName?: string;
  limit?: number;
  json?: boolean;
}

/** Arguments of `e11 dlq retry` and `e11 dlq discard`. */
export interface DlqActionArgs {
  orchestrationId: string;
  /** Only these jobs (default: every dead-lettered job of the orchestration). */
  jobIds?: string[];
  json?: boolean;
}

/** `e11 dlq list [--orchestration <id>] [--job-name <name>]`: dead-lettered jobs, params redacted. */
export async function dlqListCommand(
  service: OrchestrationService,
  args: DlqListArgs,
  io: CliIo,
): Promise<number> {
  const entries = await service.listDeadLetters({
    orchestrationId: args.orchestrationId,
    jobName: args.jobName,
    limit: args.limit,
  });
  if (args.json) {
    writeJson(io, entries);
    return ExitCode.Ok;
  }
  if (entries.length === 0) {
    writeLines(io, 'The dead-letter list is empty.');
    return ExitCode.Ok;
  }
  const rows = entries.map((entry) => [
    entry.orchestrationId,
    entry.jobId,
    String(entry.index),
    entry.jobName,
    String(entry.attempts),
    `${entry.error?.code ?? ''}: ${(entry.error?.message ?? '').replace(/\s+/g, ' ')}`,
    JSON.stringify(entry.params),
  ]);
  writeLines(io, ...table(['ORCHESTRATION', 'JOB', '#', 'NAME', 'ATTEMPTS', 'ERROR', 'PARAMS'], rows));
  return ExitCode.Ok;
}

async function deadLetteredIds(service: OrchestrationService, args: DlqActionArgs): Promise<string[]> {
  if (args.jobIds && args.jobIds.length > 0) return args.jobIds;
  const entries = await service.listDeadLetters({ orchestrationId: args.orchestrationId, limit: 500 });
  return entries.map((entry) => entry.jobId);
}

/** `e11 dlq retry <orchestrationId> [--job <jobId>]…`: relaunches dead-lettered jobs with their params. */
export async function dlqRetryCommand(
  service: OrchestrationService,
  args: DlqActionArgs,
  io: CliIo,
): Promise<number> {
  const jobIds = await deadLetteredIds(service, args);
  if (jobIds.length === 0) {
    if (args.json) writeJson(io, { epoch: null, jobIds: [], launch: null });
    else writeLines(io, 'No dead-lettered jobs to retry.');
    return ExitCode.Ok;
  }
  const result = await service.retryFailed(args.orchestrationId, { jobIds });
  if (args.json) writeJson(io, result);
  else writeLines(io, `Retrying ${result.jobIds.length} dead-lettered job(s) in run ${result.epoch}.`);
  return result.launch.failed > 0 ? ExitCode.Failed : ExitCode.Ok;
}

/** `e11 dlq discard <orchestrationId> [--job <jobId>]…`: marks dead-lettered jobs permanently failed. */
export async function dlqDiscardCommand(
  service: OrchestrationService,
  args: DlqActionArgs,
  io: CliIo,
): Promise<number> {
  const result = await service.discard(args.orchestrationId, {
    jobIds: args.jobIds && args.jobIds.length > 0 ? args.jobIds : undefined,
  });
  if (args.json) writeJson(io, result);
  else writeLines(io, `Discarded ${result.discarded} job(s).`);
  return ExitCode.Ok;
}

/** Registers `e11 dlq` with its sub-commands `list`, `retry` and `discard`. */
export function registerDlqCommand(program: Command, action: CommandAction, io: CliIo): void {
  const dlq = program.command('dlq').description('the dead-letter list: jobs whose retries are exhausted');
  dlq
    .command('list')
    .description('list dead-lettered jobs (params redacted)')
    .option('--orchestration <id>', 'only this orchestration')
    .option('--job-name <name>', 'only this job name')
    .option('--limit <n>', 'at most this many entries')
    .action(
      action(
        (json, opts: { orchestration?: string; jobName?: string; limit?: string }) => (service) =>
          dlqListCommand(
            service,
            {
              orchestrationId: opts.orchestration,
              jobName: opts.jobName,
              limit: parsePositive(opts.limit, '--limit'),
              json,
            },
            io,
          ),
        { readOnly: true },
      ),
    );
  dlq
    .command('retry <orchestrationId>')
    .description('relaunch dead-lettered jobs')
    .option('--job <jobId>', 'only this job (repeatable)', collect)
    .action(
      action(
        (json, orchestrationId: string, opts: { job?: string[] }) => (service) =>
          dlqRetryCommand(service, { orchestrationId, jobIds: opts.job, json }, io),
        { launches: true },
      ),
    );
  dlq
    .command('discard <orchestrationId>')
    .description('mark dead-lettered jobs permanently failed')
    .option('--job <jobId>', 'only this job (repeatable)', collect)
    .action(
      action(
        (json, orchestrationId: string, opts: { job?: string[] }) => (service) =>
          dlqDiscardCommand(service, { orchestrationId, jobIds: opts.job, json }, io),
      ),
    );
}
