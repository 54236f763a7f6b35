import type { OrchestrationService } from '@e11/sdk';
import type { Command } from 'commander';

import type { CliIo } from './io.js';
import type { GlobalOptions, ServiceFactory } from './service-factory.js';

/** A command once its arguments are parsed: runs against a service and returns the exit code. */
export type CommandRun = (service: OrchestrationService) => Promise<number>;

/**
 * Turns a command's `prepare` (parses the `--json` flag and commander's arguments, throws on bad ones)
 * into a commander action that creates the service, runs the command and closes the service.
 */
export type CommandAction = <A extends unknown[]>(
  prepare: (json: boolean, ...args: A) => CommandRun,
) => (...args: A) => Promise<void>;

/** Adds one command (with its sub-commands) to the `e11` program. */
export type RegisterCommand = (program: Command, action: CommandAction, io: CliIo) => void;

/**
 * The shared action wrapper of `runCli`: the global options of `program` pick the service, which is
 * closed whatever happens; the command's exit code goes to `setExitCode`. Arguments are parsed (and
 * rejected) before a service, and its clients, exist.
 */
export function commandAction(
  program: Command,
  createService: ServiceFactory,
  setExitCode: (code: number) => void,
): CommandAction {
  return (prepare) =>
    async (...args) => {
      const globals = program.opts<GlobalOptions>();
      const run = prepare(globals.json === true, ...args);
      const service = createService(globals);
      try {
        setExitCode(await run(service));
      } finally {
        await service.close();
      }
    };
}
