import type { OrchestrationService } from '@e11/sdk';
import type { Command } from 'commander';

import type { CommandAction } from '../command-action.js';
import { type CliIo, ExitCode, writeJson, writeLines } from '../io.js';

/** One of `e11 pause|resume <id>`: the service call and the line its result reads as. */
interface PauseCommand<R> {
  name: 'pause' | 'resume';
  description: string;
  run: (service: OrchestrationService, orchestrationId: string) => Promise<R>;
  line: (result: R) => string;
}

function register<R>(program: Command, action: CommandAction, io: CliIo, command: PauseCommand<R>): void {
  program
    .command(`${command.name} <id>`)
    .description(command.description)
    .action(
      action((json, orchestrationId: string) => async (service) => {
        const result = await command.run(service, orchestrationId);
        if (json) writeJson(io, result);
        else writeLines(io, command.line(result));
        return ExitCode.Ok;
      }),
    );
}

/** Registers `e11 pause <id>` and `e11 resume <id>`. */
export function registerPauseCommands(program: Command, action: CommandAction, io: CliIo): void {
  register(program, action, io, {
    name: 'pause',
    description: 'stop launching an orchestration’s jobs (running ones finish) until resume',
    run: (service, id) => service.pause(id),
    line: (result) =>
      result.paused ? 'Paused: nothing new launches until `e11 resume`.' : 'Not paused: it has ended.',
  });
  register(program, action, io, {
    name: 'resume',
    description: 'resume a paused orchestration and launch the jobs it held back',
    run: (service, id) => service.resume(id),
    line: (result) =>
      result.resumed ? `Resumed: launched ${result.launched} job(s).` : 'It was not paused.',
  });
}
