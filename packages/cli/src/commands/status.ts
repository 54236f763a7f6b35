import type { OrchestrationService } from '@e11/sdk';
import type { Command } from 'commander';

import type { CommandAction } from '../command-action.js';
import { describeOrchestration } from '../format.js';
import { type CliIo, ExitCode, writeJson, writeLines } from '../io.js';

/** Arguments of `e11 status`. */
export interface StatusArgs {
  orchestrationId: string;
  json?: boolean;
}

/** `e11 status <id>`: the orchestration with live counts. Exit 0 when shown, 3 for an unknown id. */
export async function statusCommand(
  service: OrchestrationService,
  args: StatusArgs,
  io: CliIo,
): Promise<number> {
  const info = await service.getOrchestration(args.orchestrationId);
  if (args.json) writeJson(io, info);
  else writeLines(io, ...describeOrchestration(info));
  return ExitCode.Ok;
}

/** Registers `e11 status <id>`. */
export function registerStatusCommand(program: Command, action: CommandAction, io: CliIo): void {
  program
    .command('status <id>')
    .description('show an orchestration with live counts')
    .action(
      action(
        (json, orchestrationId: string) => (service) => statusCommand(service, { orchestrationId, json }, io),
        { readOnly: true },
      ),
    );
}
