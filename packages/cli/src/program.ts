import { createRequire } from 'node:module';

import { Command, CommanderError } from 'commander';

import { commandAction, type RegisterCommand } from './command-action.js';
import { registerCancelCommand } from './commands/cancel.js';
import { registerDashboardCommand } from './commands/dashboard.js';
import { registerDlqCommand } from './commands/dlq.js';
import { registerEstimateCommand } from './commands/estimate.js';
import { registerHistoryCommand } from './commands/history.js';
import { registerJobsCommand } from './commands/jobs.js';
import { registerKickoffCommand } from './commands/kickoff.js';
import { registerMetricsCommand } from './commands/metrics.js';
import { registerPauseCommands } from './commands/pause.js';
import { registerPipelineCommand } from './commands/pipeline.js';
import { registerResultsCommand } from './commands/results.js';
import { registerRetryCommand } from './commands/retry.js';
import { registerStatusCommand } from './commands/status.js';
import { registerWatchCommand } from './commands/watch.js';
import { type CliIo, ExitCode, exitCodeFor, formatError } from './io.js';
import { defaultServiceFactory, type ServiceFactory } from './service-factory.js';

export {
  defaultServiceFactory,
  type GlobalOptions,
  type ServiceFactory,
  type ServiceNeeds,
} from './service-factory.js';

/** Every command, in the order `e11 --help` lists them. */
const COMMANDS: readonly RegisterCommand[] = [
  registerKickoffCommand,
  registerEstimateCommand,
  registerStatusCommand,
  registerJobsCommand,
  registerWatchCommand,
  registerResultsCommand,
  registerRetryCommand,
  registerCancelCommand,
  registerPauseCommands,
  registerDlqCommand,
  registerPipelineCommand,
  registerHistoryCommand,
  registerMetricsCommand,
  registerDashboardCommand,
];

function version(): string {
  const pkg = createRequire(import.meta.url)('../package.json') as { version?: string };
  return pkg.version ?? '0.0.0';
}

/** The `e11` program with its global options; its output and errors go to `io`, it never exits. */
function baseProgram(io: CliIo): Command {
  return new Command('e11')
    .description('Kick off, watch and manage E11 Jobs orchestrations.')
    .version(version(), '-V, --version')
    .option(
      '--project <id>',
      'Google Cloud project (default: GOOGLE_CLOUD_PROJECT, else the gcloud configuration core/project)',
    )
    .option(
      '--region <region>',
      'Cloud Run region of launches (default: E11_REGION, CLOUD_RUN_REGION, CLOUDSDK_RUN_REGION, CLOUDSDK_COMPUTE_REGION, else the gcloud configuration run/region or compute/region)',
    )
    .option('--prefix <prefix>', 'Firestore collection prefix (default: E11_COLLECTION_PREFIX or e11_)')
    .option('--database <id>', 'Firestore database (default: E11_FIRESTORE_DATABASE or (default))')
    .option(
      '--tenant <tenant>',
      "only this tenant's orchestrations, as forTenant() (kick-offs are stamped with it)",
    )
    .option(
      '--read-timeout <duration>',
      'bound on a read-only command (status, jobs, history, metrics, dlq list, pipeline status/list) (default: E11_READ_TIMEOUT or 15s)',
    )
    .option('--json', 'machine-readable output: one JSON document per line')
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      outputError: (text, write) =>
        write(
          `e11: ${text
            .replace(/^error: /, '')
            .trim()
            .replace(/\s*\n\s*/g, ' ')}\n`,
        ),
    });
}

/** The exit code of a run that threw: commander's own ends (help, version, usage) or one E11 error line. */
function exitCodeOnError(error: unknown, io: CliIo, debug: boolean): number {
  if (error instanceof CommanderError) {
    // Help and version end here too; commander already printed everything.
    return error.code === 'commander.helpDisplayed' ||
      error.code === 'commander.version' ||
      error.code === 'commander.help'
      ? ExitCode.Ok
      : ExitCode.Usage;
  }
  io.stderr.write(formatError(error, debug));
  return exitCodeFor(error);
}

/**
 * Runs the `e11` command line with `argv` (user arguments only, without `node` and the script) and
 * returns the exit code. Errors become one line on stderr (`e11: <message> (<code>)`, then a `hint:`
 * line when there is one), usage errors exit 2; see `ExitCode` in io.ts.
 */
export async function runCli(
  argv: readonly string[],
  io: CliIo,
  createService: ServiceFactory = defaultServiceFactory,
): Promise<number> {
  let exitCode: number = ExitCode.Ok;
  const env = io.env ?? process.env;
  const debug = env.E11_DEBUG === '1';
  const program = baseProgram(io);
  const action = commandAction(
    program,
    createService,
    (code) => {
      exitCode = code;
    },
    env,
  );
  for (const register of COMMANDS) register(program, action, io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    return exitCodeOnError(error, io, debug);
  }
}
