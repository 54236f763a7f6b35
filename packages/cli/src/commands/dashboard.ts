import type { OrchestrationService } from '@e11/sdk';
import type { Command } from 'commander';

import type { CommandAction } from '../command-action.js';
import { createDashboardServer } from '../dashboard/dashboard-server.js';
import { type CliIo, ExitCode, writeJson, writeLines } from '../io.js';

/** Arguments of `e11 dashboard`. */
export interface DashboardArgs {
  port?: number;
  host?: string;
  /** The trace link template (`DashboardOptions.traceUrlTemplate`). */
  traceUrl?: string;
  json?: boolean;
}

/**
 * `e11 dashboard [--port 8787] [--host 127.0.0.1] [--trace-url <template>]`: serves the web dashboard until Ctrl-C (the
 * `signal` of `io`), then closes it. Prints the URL (`{ url }` with `--json`).
 */
export async function dashboardCommand(
  service: OrchestrationService,
  args: DashboardArgs,
  io: CliIo,
): Promise<number> {
  const dashboard = await createDashboardServer(service, {
    port: args.port,
    host: args.host,
    traceUrlTemplate: args.traceUrl,
  });
  if (args.json) writeJson(io, { url: dashboard.url });
  else writeLines(io, `E11 dashboard: ${dashboard.url}  (Ctrl-C to stop)`);
  await new Promise<void>((resolve) => {
    if (!io.signal || io.signal.aborted) {
      resolve();
      return;
    }
    io.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await dashboard.close();
  return ExitCode.Ok;
}

/** Registers `e11 dashboard`. */
export function registerDashboardCommand(program: Command, action: CommandAction, io: CliIo): void {
  program
    .command('dashboard')
    .description('serve the web dashboard locally')
    .option('--port <port>', 'port (default 8787)')
    .option('--host <host>', 'address to bind (default 127.0.0.1)')
    .option(
      '--trace-url <template>',
      'link of a trace id: {traceId} and {projectId} are replaced (default: the Cloud Trace console)',
    )
    .action(
      action(
        (json, opts: { port?: string; host?: string; traceUrl?: string }) => (service) =>
          dashboardCommand(
            service,
            {
              port: opts.port === undefined ? undefined : Number(opts.port),
              host: opts.host,
              traceUrl: opts.traceUrl,
              json,
            },
            io,
          ),
      ),
    );
}
