import { JobStatus } from '@e11/core';
import type { JobInfo, OrchestrationService } from '@e11/sdk';
import type { Command } from 'commander';

import { parseChoice } from '../arguments.js';
import type { CommandAction } from '../command-action.js';
import { table } from '../format.js';
import { type CliIo, ExitCode, writeJson, writeLines } from '../io.js';

const STATUSES = Object.values(JobStatus);

/** Arguments of `e11 jobs`. */
export interface JobsArgs {
  orchestrationId: string;
  status?: JobStatus;
  json?: boolean;
}

/** What the row of a job says besides its status: why it waits, its attempt, its error code. */
function jobNote(job: JobInfo): string {
  if (job.waiting === 'maxParallel') return 'waiting for a slot (maxParallel)';
  if (job.waiting === 'concurrencyKey') return 'waiting for a slot of its concurrency key';
  if (job.waiting === 'paused') return 'waiting for resume (paused)';
  if (job.waiting === 'startAt') return 'waiting for its start (startAt)';
  if (job.waiting === 'quota') return "waiting for Cloud Run's quota (run requests, or executions in flight)";
  if (job.error) return `${job.error.code}${job.deadLettered ? ' (dead-lettered)' : ''}`;
  return '';
}

/**
 * `e11 jobs <id> [--status s]`: the orchestration's jobs in index order (redacted like getJob), with
 * why a Pending one waits. Exit 0 when shown, 3 for an unknown id.
 */
export async function jobsCommand(service: OrchestrationService, args: JobsArgs, io: CliIo): Promise<number> {
  const jobs = await service.listJobs(args.orchestrationId, args.status ? { status: args.status } : {});
  if (args.json) {
    writeJson(io, jobs);
    return ExitCode.Ok;
  }
  const rows = jobs.map((job) => [String(job.index), job.id, job.status, String(job.attempt), jobNote(job)]);
  writeLines(io, ...table(['index', 'job', 'status', 'attempt', 'note'], rows));
  return ExitCode.Ok;
}

/** Registers `e11 jobs <id>`. */
export function registerJobsCommand(program: Command, action: CommandAction, io: CliIo): void {
  program
    .command('jobs <id>')
    .description("list an orchestration's jobs, and why pending ones wait")
    .option('--status <status>', `only this status (${STATUSES.join(', ')})`)
    .action(
      action(
        (json, orchestrationId: string, opts: { status?: string }) => (service) =>
          jobsCommand(
            service,
            { orchestrationId, status: parseChoice(opts.status, STATUSES, '--status'), json },
            io,
          ),
        { readOnly: true },
      ),
    );
}
