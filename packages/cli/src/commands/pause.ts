import { E11Error, ErrorCode } from '@e11/core';
import type { OrchestrationService } from '@e11/sdk';
import type { Command } from 'commander';

import type { CommandAction } from '../command-action.js';
import { type CliIo, ExitCode, writeJson, writeLines } from '../io.js';

/** One of `e11 pause|resume <id>` / `--key <key>`: the service calls and the line their result reads as. */
interface PauseCommand<R> {
  name: 'pause' | 'resume';
  description: string;
  run: (service: OrchestrationService, orchestrationId: string) => Promise<R>;
  runKey: (service: OrchestrationService, key: string) => Promise<R>;
  line: (result: R, what: string) => string;
}

function register<R>(program: Command, action: CommandAction, io: CliIo, command: PauseCommand<R>): void {
  program
    .command(`${command.name} [id]`)
    .description(command.description)
    .option('--key <key>', 'a concurrency key instead of an orchestration: every orchestration sharing it')
    .action(
      action(
        (json, id: string | undefined, options: { key?: string }) => {
          if ((id === undefined) === (options.key === undefined)) {
            throw new E11Error(
              ErrorCode.InvalidOptions,
              `e11 ${command.name}: give an orchestration id or --key <key> (one of them).`,
              { context: { path: 'id' } },
            );
          }
          return async (service) => {
            const result =
              options.key === undefined
                ? await command.run(service, id as string)
                : await command.runKey(service, options.key);
            if (json) writeJson(io, result);
            else
              writeLines(io, command.line(result, options.key === undefined ? 'it' : `key ${options.key}`));
            return ExitCode.Ok;
          };
        },
        { launches: command.name === 'resume' },
      ),
    );
}

/** Registers `e11 pause <id>|--key <key>` and `e11 resume <id>|--key <key>`. */
export function registerPauseCommands(program: Command, action: CommandAction, io: CliIo): void {
  register(program, action, io, {
    name: 'pause',
    description:
      'stop launching an orchestration’s (or a concurrency key’s) jobs until resume; running ones finish',
    run: (service, id) => service.pause(id),
    runKey: (service, key) => service.pauseKey(key),
    line: (result, what) =>
      result.paused
        ? 'Paused: nothing new launches until `e11 resume`.'
        : what === 'it'
          ? 'Not paused: it has ended.'
          : `Not paused: no kick-off named ${what} yet.`,
  });
  register(program, action, io, {
    name: 'resume',
    description: 'resume a paused orchestration (or concurrency key) and launch the jobs it held back',
    run: (service, id) => service.resume(id),
    runKey: (service, key) => service.resumeKey(key),
    line: (result) =>
      result.resumed ? `Resumed: launched ${result.launched} job(s).` : 'It was not paused.',
  });
}
