import type { OrchestrationService } from '@e11/sdk';
import type { Command } from 'commander';

import type { CommandAction } from '../command-action.js';
import { describeEstimate } from '../format.js';
import { type CliIo, ExitCode, writeJson, writeLines } from '../io.js';
import { readParamsFile } from '../params-file.js';

/** Arguments of `e11 estimate`. */
export interface EstimateArgs {
  jobName: string;
  /** Path of a JSON Lines file: one params object per line. */
  paramsFile: string;
  json?: boolean;
}

/**
 * `e11 estimate <job> --params file.jsonl`: validates the kick-off exactly as `e11 kickoff` would
 * (a bad file, name or params exit 2) and prints what it would cost, from the job name's recent
 * history, without writing or launching anything. Exit 0, also when there is no history to estimate
 * from (then the estimate says so).
 */
export async function estimateCommand(
  service: OrchestrationService,
  args: EstimateArgs,
  io: CliIo,
): Promise<number> {
  const params = await readParamsFile(args.paramsFile);
  const estimate = await service.kickOffJob(args.jobName, params, { dryRun: true });
  if (args.json) writeJson(io, estimate);
  else writeLines(io, ...describeEstimate(estimate));
  return ExitCode.Ok;
}

/** Registers `e11 estimate <job>`. */
export function registerEstimateCommand(program: Command, action: CommandAction, io: CliIo): void {
  program
    .command('estimate <job>')
    .description('validate a kick-off and estimate its cost from recent runs, launching nothing')
    .requiredOption('--params <file>', 'JSON Lines file: one params object per line')
    .action(
      action(
        (json, jobName: string, opts: { params: string }) => (service) =>
          estimateCommand(service, { jobName, paramsFile: opts.params, json }, io),
        { readOnly: true },
      ),
    );
}
