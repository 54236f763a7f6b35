import type { OrchestrationService } from '@e11/sdk';
import type { Command } from 'commander';

import { parseSince } from '../arguments.js';
import type { CommandAction } from '../command-action.js';
import { table } from '../format.js';
import { type CliIo, ExitCode, writeJson, writeLines } from '../io.js';

/** Arguments of `e11 metrics`. */
export interface MetricsArgs {
  jobName?: string;
  since?: Date;
  json?: boolean;
}

const ms = (value: number | undefined) => (value === undefined ? '-' : `${value}ms`);

/** `e11 metrics [--job-name] [--since 24h]`: per job name counts, queue depth and duration percentiles. */
export async function metricsCommand(
  service: OrchestrationService,
  args: MetricsArgs,
  io: CliIo,
): Promise<number> {
  const report = await service.getMetrics({ jobName: args.jobName, since: args.since });
  if (args.json) {
    writeJson(io, report);
    return ExitCode.Ok;
  }
  const rows = Object.values(report.jobs).map((m) => [
    m.jobName,
    String(m.dispatched),
    String(m.completed),
    String(m.failed),
    String(m.retried),
    String(m.queueDepth),
    String(m.running),
    `${ms(m.durationMs?.p50)} / ${ms(m.durationMs?.p90)} / ${ms(m.durationMs?.p99)}`,
  ]);
  writeLines(
    io,
    `Since ${report.since.toISOString()} (${report.orchestrations} orchestrations${report.truncated ? ', truncated' : ''})`,
  );
  writeLines(
    io,
    ...table(
      ['JOB', 'DISPATCHED', 'COMPLETED', 'FAILED', 'RETRIED', 'PENDING', 'RUNNING', 'P50 / P90 / P99'],
      rows,
    ),
  );
  return ExitCode.Ok;
}

/** Registers `e11 metrics`. */
export function registerMetricsCommand(program: Command, action: CommandAction, io: CliIo): void {
  program
    .command('metrics')
    .description('per job name: dispatched, completed, failed, retried, queue depth, durations')
    .option('--job-name <name>', 'only this job name')
    .option('--since <when>', 'window start: an ISO date or a duration ago (default 24h)')
    .action(
      action(
        (json, opts: { jobName?: string; since?: string }) => (service) =>
          metricsCommand(
            service,
            { jobName: opts.jobName, since: parseSince(opts.since, Date.now()), json },
            io,
          ),
        { readOnly: true },
      ),
    );
}
