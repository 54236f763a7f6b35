import type { OrchestrationService } from '@e11/sdk';
import type { Command } from 'commander';

import type { CommandAction } from '../command-action.js';
import { type CliIo, ExitCode, writeJson, writeLines } from '../io.js';

/** Arguments of `e11 cancel`. */
export interface CancelArgs {
  orchestrationId: string;
  json?: boolean;
}

/** `e11 cancel <id>`: unfinished jobs become Cancelled and running executions are cancelled. */
export async function cancelCommand(
  service: OrchestrationService,
  args: CancelArgs,
  io: CliIo,
): Promise<number> {
  const result = await service.cancel(args.orchestrationId);
  if (args.json) writeJson(io, result);
  else writeLines(io, `Cancelled ${result.cancelled} job(s) and ${result.executions} execution(s).`);
  return ExitCode.Ok;
}

/** Registers `e11 cancel <id>`. */
export function registerCancelCommand(program: Command, action: CommandAction, io: CliIo): void {
  program
    .command('cancel <id>')
    .description('cancel an orchestration')
    .action(
      action(
        (json, orchestrationId: string) => (service) => cancelCommand(service, { orchestrationId, json }, io),
        { launches: true },
      ),
    );
}
