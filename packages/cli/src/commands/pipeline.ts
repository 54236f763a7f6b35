import { PIPELINE_STATUSES } from '@e11/core';
import type { OrchestrationService, PipelineInfo } from '@e11/sdk';
import type { Command } from 'commander';

import { parseChoice, parsePositive } from '../arguments.js';
import type { CommandAction } from '../command-action.js';
import { table } from '../format.js';
import { type CliIo, ExitCode, writeJson, writeLines } from '../io.js';

/** `3/50 ok 47 failed 3` for a stage that ended, `-` before. */
function stageCounts(stage: PipelineInfo['stages'][number]): string {
  if (stage.counts === null) return '-';
  const { completed, errored, cancelled } = stage.counts;
  const total = completed + errored + cancelled + stage.counts.pending + stage.counts.inProgress;
  return `${total} jobs: ${completed} ok, ${errored} failed${cancelled > 0 ? `, ${cancelled} cancelled` : ''}`;
}

/** A multi-line summary of one pipeline: its status, then one row per stage with its orchestration. */
export function describePipeline(info: PipelineInfo): string[] {
  const tags = Object.entries(info.tags)
    .map(([key, value]) => `${key}=${value}`)
    .join(' ');
  const why =
    info.endReason === null
      ? ''
      : `  (${info.endReason}${info.failedStage ? ` at ${info.failedStage}` : ''})`;
  return [
    `pipeline      ${info.pipelineId}`,
    `name          ${info.name} (run ${info.epoch})`,
    `status        ${info.status}${why}`,
    ...(info.error ? [`error         ${info.error}`] : []),
    `created       ${info.createdAt.toISOString()}`,
    ...(info.endedAt ? [`ended         ${info.endedAt.toISOString()}`] : []),
    ...(tags ? [`tags          ${tags}`] : []),
    '',
    ...table(
      ['STAGE', 'JOB', 'ON FAILURE', 'STATUS', 'JOBS', 'ORCHESTRATION'],
      info.stages.map((stage) => [
        stage.name,
        stage.job,
        stage.onFailure,
        stage.status,
        stageCounts(stage),
        stage.hasOrchestration ? stage.orchestrationId : '-',
      ]),
    ),
  ];
}

/** `e11 pipeline status <id>`: the pipeline, its stages and their orchestrations. */
export async function pipelineStatusCommand(
  service: OrchestrationService,
  args: { pipelineId: string; json?: boolean },
  io: CliIo,
): Promise<number> {
  const info = await service.getPipeline(args.pipelineId);
  if (args.json) writeJson(io, info);
  else writeLines(io, ...describePipeline(info));
  return ExitCode.Ok;
}

/** `e11 pipeline list`: the most recent pipelines. */
export async function pipelineListCommand(
  service: OrchestrationService,
  args: { limit?: number; status?: PipelineInfo['status']; json?: boolean },
  io: CliIo,
): Promise<number> {
  const pipelines = await service.listPipelines({
    ...(args.limit === undefined ? {} : { limit: args.limit }),
    ...(args.status === undefined ? {} : { status: args.status }),
  });
  if (args.json) {
    for (const info of pipelines) writeJson(io, info);
    return ExitCode.Ok;
  }
  writeLines(
    io,
    ...table(
      ['PIPELINE', 'NAME', 'STATUS', 'STAGE', 'CREATED'],
      pipelines.map((info) => [
        info.pipelineId,
        info.name,
        info.status,
        info.currentStage,
        info.createdAt.toISOString(),
      ]),
    ),
  );
  return ExitCode.Ok;
}

/** Registers `e11 pipeline` with its sub-commands `status`, `list`, `cancel` and `retry`. */
export function registerPipelineCommand(program: Command, action: CommandAction, io: CliIo): void {
  const pipeline = program.command('pipeline').description('pipelines: stages chained by completion');
  pipeline
    .command('status <id>')
    .description('show a pipeline, its stages and their orchestrations')
    .action(
      action(
        (json, pipelineId: string) => (service) => pipelineStatusCommand(service, { pipelineId, json }, io),
        { readOnly: true },
      ),
    );
  pipeline
    .command('list')
    .description('list the most recent pipelines')
    .option('--status <status>', 'only pipelines with this status')
    .option('--limit <n>', 'at most this many (default 50)')
    .action(
      action(
        (json, opts: { status?: string; limit?: string }) => {
          const args = {
            status: parseChoice(opts.status, PIPELINE_STATUSES, '--status'),
            limit: parsePositive(opts.limit, '--limit'),
            json,
          };
          return (service) => pipelineListCommand(service, args, io);
        },
        { readOnly: true },
      ),
    );
  pipeline
    .command('cancel <id>')
    .description('cancel a pipeline and its running stage')
    .action(
      action(
        (json, pipelineId: string) => async (service) => {
          const result = await service.cancelPipeline(pipelineId);
          if (json) writeJson(io, result);
          else writeLines(io, result.cancelled ? 'Cancelled.' : 'The pipeline had already ended.');
          return ExitCode.Ok;
        },
        { launches: true },
      ),
    );
  pipeline
    .command('retry <id>')
    .description('resume an Errored or Cancelled pipeline from the stage it stopped at')
    .action(
      action(
        (json, pipelineId: string) => async (service) => {
          const result = await service.retryPipeline(pipelineId);
          if (json) writeJson(io, result);
          else writeLines(io, `Resumed as run ${result.epoch}.`);
          return ExitCode.Ok;
        },
        { launches: true },
      ),
    );
}
