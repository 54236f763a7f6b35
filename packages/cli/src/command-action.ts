import { E11Error, ErrorCode, fromGoogleError, unreachableHint } from '@e11/core';
import type { OrchestrationService } from '@e11/sdk';
import { Command } from 'commander';

import { parseDuration } from './arguments.js';
import type { CliIo } from './io.js';
import type { GlobalOptions, ServiceFactory } from './service-factory.js';

/** A command once its arguments are parsed: runs against a service and returns the exit code. */
export type CommandRun = (service: OrchestrationService) => Promise<number>;

/** How a command runs. */
export interface ActionOptions {
  /**
   * The command only reads and ends by itself (status, jobs, history…): it is bounded by the read
   * timeout (`--read-timeout`, E11_READ_TIMEOUT, {@link DEFAULT_READ_TIMEOUT_MS}), so an unreachable
   * Firestore fails it with `E11_UNAVAILABLE` instead of the clients' own retries of most of a minute.
   * Commands that write or follow (kickoff, watch, results, dashboard) have no such bound.
   */
  readOnly?: boolean;
  /**
   * The command may launch or cancel Cloud Run executions (kickoff, retry, resume, cancel…): the
   * default service factory then requires a region (`--region`, E11_REGION…, the gcloud
   * configuration) before anything is written.
   */
  launches?: boolean;
}

/**
 * Turns a command's `prepare` (parses the `--json` flag and commander's arguments, throws on bad ones)
 * into a commander action that creates the service, runs the command and closes the service.
 */
export type CommandAction = <A extends unknown[]>(
  prepare: (json: boolean, ...args: A) => CommandRun,
  options?: ActionOptions,
) => (...args: A) => Promise<void>;

/** Adds one command (with its sub-commands) to the `e11` program. */
export type RegisterCommand = (program: Command, action: CommandAction, io: CliIo) => void;

/**
 * The bound of a read-only command: long enough for a slow first connection and a large page, short
 * enough that a wrong host or a stopped emulator is reported within seconds (the Firestore client's
 * own retries take about 45 s to give up).
 */
export const DEFAULT_READ_TIMEOUT_MS = 15_000;

type Env = Readonly<Record<string, string | undefined>>;

/** The command's name for messages (`dlq retry`): commander passes the Command as the last argument. */
function commandName(args: readonly unknown[]): string {
  const command = args.at(-1);
  if (!(command instanceof Command)) return 'this command';
  const parent = command.parent?.parent ? `${command.parent.name()} ` : '';
  return `${parent}${command.name()}`;
}

/** The read timeout from `--read-timeout`, else E11_READ_TIMEOUT, else the default; throws on a bad value. */
export function readTimeoutMs(globals: GlobalOptions, env: Env): number {
  if (globals.readTimeout !== undefined)
    return parseDuration(globals.readTimeout, '--read-timeout') as number;
  const fromEnv = env.E11_READ_TIMEOUT;
  return fromEnv ? (parseDuration(fromEnv, 'E11_READ_TIMEOUT') as number) : DEFAULT_READ_TIMEOUT_MS;
}

/** `run` or, if it has not settled after `ms`, an `E11_UNAVAILABLE` error saying what to check. */
async function withinReadTimeout(run: Promise<number>, ms: number, env: Env): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(
        new E11Error(
          ErrorCode.Unavailable,
          `Firestore did not answer within ${ms / 1000}s (--read-timeout / E11_READ_TIMEOUT).`,
          { retryable: true, context: { hint: unreachableHint('Firestore', env) } },
        ),
      );
    }, ms);
  });
  try {
    return await Promise.race([run, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The shared action wrapper of `runCli`: the global options of `program` pick the service, which is
 * closed whatever happens; the command's exit code goes to `setExitCode`. Arguments are parsed (and
 * rejected) before a service, and its clients, exist. A Google client error the command lets through
 * becomes a typed `E11Error` with a hint (`fromGoogleError`), its original as `cause`.
 */
export function commandAction(
  program: Command,
  createService: ServiceFactory,
  setExitCode: (code: number) => void,
  env: Env = process.env,
): CommandAction {
  return (prepare, options = {}) =>
    async (...args) => {
      const globals = program.opts<GlobalOptions>();
      const run = prepare(globals.json === true, ...args);
      const timeoutMs = options.readOnly ? readTimeoutMs(globals, env) : undefined;
      const service = createService(globals, {
        launches: options.launches === true,
        command: commandName(args),
      });
      let settled = false;
      const running = Promise.resolve()
        .then(() => run(service))
        .finally(() => (settled = true));
      // A run the read timeout overtook may still reject later; that rejection is no longer reported.
      running.catch(() => undefined);
      try {
        setExitCode(await (timeoutMs === undefined ? running : withinReadTimeout(running, timeoutMs, env)));
      } catch (error) {
        throw fromGoogleError(error, 'Firestore', env);
      } finally {
        if (settled) {
          await service.close();
        } else {
          // The read the timeout overtook still uses the clients (closing them under it makes the
          // Firestore client throw): they close once it gives up. The `e11` executable exits sooner.
          running.finally(() => service.close()).catch(() => undefined);
        }
      }
    };
}
