import type { Command } from 'commander';

import type { CommandAction } from '../command-action.js';
import { type CliIo, ExitCode, writeJson, writeLines } from '../io.js';

/** Registers `e11 pause <id>` and `e11 resume <id>`. */
export function registerPauseCommands(program: Command, action: CommandAction, io: CliIo): void {
  program
    .command('pause <id>')
    .description('stop launching an orchestration’s jobs (running ones finish) until resume')
    .action(
      action((json, orchestrationId: string) => async (service) => {
        const result = await service.pause(orchestrationId);
        if (json) writeJson(io, result);
        else
          writeLines(
            io,
            result.paused ? 'Paused: nothing new launches until `e11 resume`.' : 'Not paused: it has ended.',
          );
        return ExitCode.Ok;
      }),
    );
  program
    .command('resume <id>')
    .description('resume a paused orchestration and launch the jobs it held back')
    .action(
      action((json, orchestrationId: string) => async (service) => {
        const result = await service.resume(orchestrationId);
        if (json) writeJson(io, result);
        else
          writeLines(
            io,
            result.resumed ? `Resumed: launched ${result.launched} job(s).` : 'It was not paused.',
          );
        return ExitCode.Ok;
      }),
    );
}
