import type { OrchestrationStatus } from '../../model/status.js';
import type { OrchestrationService } from '../../orchestration/orchestration-service.js';
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
