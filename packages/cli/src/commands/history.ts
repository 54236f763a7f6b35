import { JobStatus, type OrchestrationStatus } from '@e11/core';
import type { OrchestrationService } from '@e11/sdk';
import type { Command } from 'commander';

import { parseChoice, parsePositive, parseSince, parseTagFilter } from '../arguments.js';
import type { CommandAction } from '../command-action.js';
import { table } from '../format.js';
import { type CliIo, ExitCode, writeJson, writeLines } from '../io.js';

/** Arguments of `e11 history`. */
export interface HistoryArgs {
  jobName?: string;
  status?: OrchestrationStatus;
  tag?: { key: string; value: string };
  createdAfter?: Date;
  limit?: number;
  cursor?: string;
  json?: boolean;
}

/** Arguments of `e11 history prune`. */
export interface PruneArgs {
  days: number;
  dryRun?: boolean;
  json?: boolean;
}

/** `e11 history [--job-name] [--status] [--tag k=v] [--since 7d] [--limit n] [--cursor c]`: newest first. */
export async function historyCommand(
  service: OrchestrationService,
  args: HistoryArgs,
  io: CliIo,
): Promise<number> {
  const page = await service.listOrchestrations({
    jobName: args.jobName,
    status: args.status,
    tag: args.tag,
    createdAfter: args.createdAfter,
    limit: args.limit,
    cursor: args.cursor,
  });
  if (args.json) {
    writeJson(io, page);
    return ExitCode.Ok;
  }
  if (page.items.length === 0) {
    writeLines(io, 'No orchestrations.');
    return ExitCode.Ok;
  }
  const rows = page.items.map((item) => [
    item.id,
    item.jobName,
    item.status,
    `${Math.floor(item.progress * 100)}% of ${item.total}`,
    String(item.counts.errored),
    item.createdAt.toISOString(),
  ]);
  writeLines(io, ...table(['ID', 'JOB', 'STATUS', 'PROGRESS', 'ERRORED', 'CREATED'], rows));
  if (page.nextCursor) writeLines(io, `more: --cursor ${page.nextCursor}`);
  return ExitCode.Ok;
}

/** `e11 history prune --days N [--dry-run]`: retention — deletes ended orchestrations older than N days. */
export async function pruneCommand(
  service: OrchestrationService,
  args: PruneArgs,
  io: CliIo,
): Promise<number> {
  const report = await service.deleteOrchestrationsOlderThan(args.days, { dryRun: args.dryRun });
  if (args.json) {
    writeJson(io, report);
    return ExitCode.Ok;
  }
  const verb = report.dryRun ? 'Would delete' : 'Deleted';
  writeLines(
    io,
    `${verb} ${report.deleted.length} orchestration(s) created before ${report.cutoff.toISOString()}; kept ${report.kept} unfinished.`,
  );
  if (report.more) writeLines(io, 'More remain: run it again.');
  return ExitCode.Ok;
}

const STATUSES = Object.values(JobStatus) as OrchestrationStatus[];

/** Registers `e11 history` with its sub-command `prune`. */
export function registerHistoryCommand(program: Command, action: CommandAction, io: CliIo): void {
  const history = program
    .command('history')
    .description('past orchestrations, newest first')
    .option('--job-name <name>', 'only this job name')
    .option('--status <status>', `only this status (${STATUSES.join(', ')})`)
    .option('--tag <key=value>', 'only orchestrations with this tag')
    .option('--since <when>', 'created after an ISO date or a duration ago, e.g. 7d')
    .option('--limit <n>', 'page size')
    .option('--cursor <cursor>', 'the next page, as printed by the previous one')
    .action(
      action(
        (
          json,
          opts: {
            jobName?: string;
            status?: string;
            tag?: string;
            since?: string;
            limit?: string;
            cursor?: string;
          },
        ) =>
          (service) =>
            historyCommand(
              service,
              {
                jobName: opts.jobName,
                status: parseChoice(opts.status, STATUSES, '--status'),
                tag: parseTagFilter(opts.tag),
                createdAfter: parseSince(opts.since, Date.now()),
                limit: parsePositive(opts.limit, '--limit'),
                cursor: opts.cursor,
                json,
              },
              io,
            ),
        { readOnly: true },
      ),
    );
  history
    .command('prune')
    .description('retention: delete ended orchestrations older than N days')
    .requiredOption('--days <n>', 'age in days')
    .option('--dry-run', 'only report what would be deleted')
    .action(
      action(
        (json, opts: { days: string; dryRun?: boolean }) => (service) =>
          pruneCommand(
            service,
            { days: parsePositive(opts.days, '--days', true) ?? 0, dryRun: opts.dryRun, json },
            io,
          ),
      ),
    );
}
