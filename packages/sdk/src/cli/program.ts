import { createRequire } from 'node:module';

import { Command, CommanderError, Option } from 'commander';

import { resolveProjectId } from '../clients.js';
import { JobStatus, type OrchestrationStatus } from '../model/status.js';
import { OrchestrationService } from '../orchestration/orchestration-service.js';

import { parseChoice, parseDuration, parsePositive, parseSince, parseTagFilter } from './arguments.js';
import { cancelCommand } from './commands/cancel.js';
import { dashboardCommand } from './commands/dashboard.js';
import { dlqDiscardCommand, dlqListCommand, dlqRetryCommand } from './commands/dlq.js';
import { historyCommand, pruneCommand } from './commands/history.js';
import { kickoffCommand } from './commands/kickoff.js';
import { metricsCommand } from './commands/metrics.js';
import { resultsCommand } from './commands/results.js';
import { retryCommand } from './commands/retry.js';
import { statusCommand } from './commands/status.js';
import { watchCommand } from './commands/watch.js';
import { type CliIo, ExitCode, exitCodeFor, formatError } from './io.js';
import { LazyCloudRunLauncher } from './lazy-launcher.js';

/** Options every command accepts. */
export interface GlobalOptions {
  project?: string;
  prefix?: string;
  /** Scope every command to this tenant (as `forTenant()`): other tenants' ids answer as unknown ones. */
  tenant?: string;
  /** The Firestore database E11 keeps its state in (default: E11_FIRESTORE_DATABASE or `(default)`). */
  database?: string;
  json?: boolean;
}

/** How {@link runCli} gets its service; tests pass one on the emulators. */
export type ServiceFactory = (options: GlobalOptions) => OrchestrationService;

/**
 * The default: a service for `--project` / `--prefix` / `--database`, scoped to `--tenant` when given,
 * clients from the environment (emulator hosts honoured); its Cloud Run client is only created when a
 * command launches or cancels.
 */
export const defaultServiceFactory: ServiceFactory = (options) => {
  const projectId = resolveProjectId(options.project);
  return new OrchestrationService({
    projectId,
    collectionPrefix: options.prefix,
    launcher: new LazyCloudRunLauncher(projectId),
    ...(options.tenant === undefined ? {} : { tenant: options.tenant }),
    ...(options.database === undefined ? {} : { databaseId: options.database }),
  });
};

const STATUSES = Object.values(JobStatus) as OrchestrationStatus[];
const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

function version(): string {
  const pkg = createRequire(import.meta.url)('../../package.json') as { version?: string };
  return pkg.version ?? '0.0.0';
}

/**
 * Runs the `e11` command line with `argv` (user arguments only, without `node` and the script) and
 * returns the exit code. Errors become one line on stderr (`e11: <message> (<code>)`), usage errors
 * exit 2; see `ExitCode` in io.ts.
 */
export async function runCli(
  argv: readonly string[],
  io: CliIo,
  createService: ServiceFactory = defaultServiceFactory,
): Promise<number> {
  let exitCode: number = ExitCode.Ok;
  const debug = (io.env ?? process.env).E11_DEBUG === '1';

  const program = new Command('e11')
    .description('Kick off, watch and manage E11 Jobs orchestrations.')
    .version(version(), '-V, --version')
    .option('--project <id>', 'Google Cloud project (default: GOOGLE_CLOUD_PROJECT)')
    .option('--prefix <prefix>', 'Firestore collection prefix (default: E11_COLLECTION_PREFIX or e11_)')
    .option('--database <id>', 'Firestore database (default: E11_FIRESTORE_DATABASE or (default))')
    .option(
      '--tenant <tenant>',
      "only this tenant's orchestrations, as forTenant() (kick-offs are stamped with it)",
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

  // Arguments are parsed (and rejected) before a service, and its clients, exist.
  const action =
    <A extends unknown[]>(
      prepare: (json: boolean, ...args: A) => (service: OrchestrationService) => Promise<number>,
    ) =>
    async (...args: A) => {
      const globals = program.opts<GlobalOptions>();
      const run = prepare(globals.json === true, ...args);
      const service = createService(globals);
      try {
        exitCode = await run(service);
      } finally {
        await service.close();
      }
    };

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
      ),
    );

  program
    .command('status <id>')
    .description('show an orchestration with live counts')
    .action(
      action(
        (json, orchestrationId: string) => (service) => statusCommand(service, { orchestrationId, json }, io),
      ),
    );

  program
    .command('watch <id>')
    .description('follow an orchestration live until it ends (progress bar on a terminal)')
    .option('--timeout <duration>', 'give up after this long (exit 4), e.g. 10m')
    .addOption(
      new Option(
        '--complete-on <when>',
        "end on the orchestration's status or when all jobs are terminal",
      ).choices(['status', 'jobs']),
    )
    .action(
      action(
        (json, orchestrationId: string, opts: { timeout?: string; completeOn?: 'status' | 'jobs' }) =>
          (service) =>
            watchCommand(
              service,
              {
                orchestrationId,
                json,
                timeoutMs: parseDuration(opts.timeout, '--timeout'),
                completeOn: opts.completeOn,
              },
              io,
            ),
      ),
    );

  program
    .command('results <id>')
    .description('wait for the end and print successes and failures')
    .option('--timeout <duration>', 'give up after this long (exit 4), e.g. 10m')
    .action(
      action(
        (json, orchestrationId: string, opts: { timeout?: string }) => (service) =>
          resultsCommand(
            service,
            { orchestrationId, json, timeoutMs: parseDuration(opts.timeout, '--timeout') },
            io,
          ),
      ),
    );

  program
    .command('retry <id>')
    .description('relaunch failed jobs with their original params')
    .option('--job <jobId>', 'only this job (repeatable)', collect)
    .action(
      action(
        (json, orchestrationId: string, opts: { job?: string[] }) => (service) =>
          retryCommand(service, { orchestrationId, jobIds: opts.job, json }, io),
      ),
    );

  program
    .command('cancel <id>')
    .description('cancel an orchestration')
    .action(
      action(
        (json, orchestrationId: string) => (service) => cancelCommand(service, { orchestrationId, json }, io),
      ),
    );

  const dlq = program.command('dlq').description('the dead-letter list: jobs whose retries are exhausted');
  dlq
    .command('list')
    .description('list dead-lettered jobs (params redacted)')
    .option('--orchestration <id>', 'only this orchestration')
    .option('--job-name <name>', 'only this job name')
    .option('--limit <n>', 'at most this many entries')
    .action(
      action(
        (json, opts: { orchestration?: string; jobName?: string; limit?: string }) => (service) =>
          dlqListCommand(
            service,
            {
              orchestrationId: opts.orchestration,
              jobName: opts.jobName,
              limit: parsePositive(opts.limit, '--limit'),
              json,
            },
            io,
          ),
      ),
    );
  dlq
    .command('retry <orchestrationId>')
    .description('relaunch dead-lettered jobs')
    .option('--job <jobId>', 'only this job (repeatable)', collect)
    .action(
      action(
        (json, orchestrationId: string, opts: { job?: string[] }) => (service) =>
          dlqRetryCommand(service, { orchestrationId, jobIds: opts.job, json }, io),
      ),
    );
  dlq
    .command('discard <orchestrationId>')
    .description('mark dead-lettered jobs permanently failed')
    .option('--job <jobId>', 'only this job (repeatable)', collect)
    .action(
      action(
        (json, orchestrationId: string, opts: { job?: string[] }) => (service) =>
          dlqDiscardCommand(service, { orchestrationId, jobIds: opts.job, json }, io),
      ),
    );

  const history = program
    .command('history')
    .description('past orchestrations, newest first')
    .option('--job-name <name>', 'only this job name')
    .option('--status <status>', `only this status (${STATUSES.join(', ')})`)
    .option('--tag <key=value>', 'only orchestrations with this tag')
    .option('--since <when>', 'created after an ISO date or a duration ago, e.g. 7d')
    .option('--limit <n>', 'page size')
    .option('--cursor <cursor>', 'the next page, as printed by the previous one')
    .action(
      action(
        (
          json,
          opts: {
            jobName?: string;
            status?: string;
            tag?: string;
            since?: string;
            limit?: string;
            cursor?: string;
          },
        ) =>
          (service) =>
            historyCommand(
              service,
              {
                jobName: opts.jobName,
                status: parseChoice(opts.status, STATUSES, '--status'),
                tag: parseTagFilter(opts.tag),
                createdAfter: parseSince(opts.since, Date.now()),
                limit: parsePositive(opts.limit, '--limit'),
                cursor: opts.cursor,
                json,
              },
              io,
            ),
      ),
    );
  history
    .command('prune')
    .description('retention: delete ended orchestrations older than N days')
    .requiredOption('--days <n>', 'age in days')
    .option('--dry-run', 'only report what would be deleted')
    .action(
      action(
        (json, opts: { days: string; dryRun?: boolean }) => (service) =>
          pruneCommand(
            service,
            { days: parsePositive(opts.days, '--days', true) ?? 0, dryRun: opts.dryRun, json },
            io,
          ),
      ),
    );

  program
    .command('metrics')
    .description('per job name: dispatched, completed, failed, retried, queue depth, durations')
    .option('--job-name <name>', 'only this job name')
    .option('--since <when>', 'window start: an ISO date or a duration ago (default 24h)')
    .action(
      action(
        (json, opts: { jobName?: string; since?: string }) => (service) =>
          metricsCommand(
            service,
            { jobName: opts.jobName, since: parseSince(opts.since, Date.now()), json },
            io,
          ),
      ),
    );

  program
    .command('dashboard')
    .description('serve the web dashboard locally')
    .option('--port <port>', 'port (default 8787)')
    .option('--host <host>', 'address to bind (default 127.0.0.1)')
    .action(
      action(
        (json, opts: { port?: string; host?: string }) => (service) =>
          dashboardCommand(
            service,
            { port: opts.port === undefined ? undefined : Number(opts.port), host: opts.host, json },
            io,
          ),
      ),
    );

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
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
}
