import type { OrchestrationService } from '@e11/sdk';
import { type Command, Option } from 'commander';

import { collect, parseTags } from '../arguments.js';
import type { CommandAction } from '../command-action.js';
import { type CliIo, ExitCode, writeJson, writeLines } from '../io.js';
import { readParamsFile } from '../params-file.js';

/** Arguments of `e11 kickoff`. */
export interface KickoffArgs {
  jobName: string;
  /** Path of a JSON Lines file: one params object per line. */
  paramsFile: string;
  /** `key=value` strings. */
  tags?: string[];
  mode?: 'per-job' | 'array';
  idempotencyKey?: string;
  json?: boolean;
}

/**
 * `e11 kickoff <job> --params file.jsonl [--tag k=v]… [--mode array] [--idempotency-key k]`: one job
 * per line of the file. Prints the orchestration id (and job ids with `--json`). Exits 1 when some
 * launches failed (those jobs are `Errored`), 2 for a bad file or options.
 */
export async function kickoffCommand(
  service: OrchestrationService,
  args: KickoffArgs,
  io: CliIo,
): Promise<number> {
  const tags = parseTags(args.tags);
  const params = await readParamsFile(args.paramsFile);
  const result = await service.kickOffJob(args.jobName, params, {
    tags,
    mode: args.mode,
    idempotencyKey: args.idempotencyKey,
  });
  // The command exits once every launch went (the service's close() would wait for them anyway).
  const launch = await result.launched;
  const failed = launch?.failed ?? 0;
  if (args.json) {
    writeJson(io, {
      orchestrationId: result.orchestrationId,
      jobIds: result.jobIds,
      deduplicated: result.deduplicated,
      launch,
    });
  } else {
    const what = result.deduplicated
      ? `Already kicked off with this idempotency key (nothing launched): ${result.orchestrationId}`
      : `Kicked off ${params.length} × ${args.jobName}: ${result.orchestrationId}`;
    writeLines(io, what);
    if (failed > 0)
      writeLines(
        io,
        `${failed} launch(es) failed; those jobs are Errored (see: e11 results ${result.orchestrationId}).`,
      );
  }
  return failed > 0 ? ExitCode.Failed : ExitCode.Ok;
}

/** Registers `e11 kickoff <job>`. */
export function registerKickoffCommand(program: Command, action: CommandAction, io: CliIo): void {
  program
    .command('kickoff <job>')
    .description('kick off one job per line of a JSON Lines params file')
    .requiredOption('--params <file>', 'JSON Lines file: one params object per line')
    .option('--tag <key=value>', 'customer tag (repeatable)', collect)
    .addOption(
      new Option('--mode <mode>', 'one execution per job, or one array execution').choices([
        'per-job',
        'array',
      ]),
    )
    .option('--idempotency-key <key>', 'the same key never kicks off twice')
    .action(
      action(
        (
          json,
          jobName: string,
          opts: { params: string; tag?: string[]; mode?: 'per-job' | 'array'; idempotencyKey?: string },
        ) =>
          (service) =>
            kickoffCommand(
              service,
              {
                jobName,
                paramsFile: opts.params,
                tags: opts.tag,
                mode: opts.mode,
                idempotencyKey: opts.idempotencyKey,
                json,
              },
              io,
            ),
        { launches: true },
      ),
    );
}
