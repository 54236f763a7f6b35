#!/usr/bin/env node
/**
 * Runs the Cloud Run Jobs emulator on its own:
 * `node emulators/dist/cloud-run/cli.js --config emulators/cloud-run.example.json --port 8091`.
 * Prints one line when it listens, each task's output prefixed with its task (unless --quiet), and
 * stops every task on SIGINT/SIGTERM.
 */
import { parseArgs } from 'node:util';

import { startCloudRunEmulator } from './emulator.js';
import { CloudRunEmulatorError } from './errors.js';
import type { CloudRunEmulatorLogger, TaskOutputInfo } from './interfaces.js';

const USAGE = `Usage: cloud-run-emulator [--config FILE] [--host HOST] [--port PORT] [--kill-grace-ms MS]
                          [--max-concurrent-tasks N] [--run-requests-per-minute N]
                          [--max-running-executions N] [--quota-window-ms MS] [--quiet]

  --config FILE             job definitions (JSON), see emulators/src/cloud-run/README.md
  --host HOST               interface to listen on (default 127.0.0.1)
  --port PORT               port to listen on (default $E11_CLOUD_RUN_PORT or 8091; 0 = any free port)
  --kill-grace-ms MS        SIGTERM → SIGKILL grace on timeout and cancel (default 10000)
  --max-concurrent-tasks N  task processes running at once (default 4 per CPU core)
  --run-requests-per-minute N
                            Cloud Run's RunJob quota per project and region; beyond it RunJob
                            answers RESOURCE_EXHAUSTED (default 0 = no limit)
  --max-running-executions N
                            executions not yet ended per project and region (default 0 = no limit)
  --quota-window-ms MS      the quota's minute (default 60000)
  --quiet                   do not print task output
`;

function write(stream: NodeJS.WriteStream, text: string): void {
  stream.write(text.endsWith('\n') ? text : `${text}\n`);
}

function integerFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0)
    throw new CloudRunEmulatorError(
      'E11_CLOUD_RUN_START_FAILED',
      `--${name} must be a non-negative integer, got ${value}`,
    );
  return parsed;
}

const stderrLogger: CloudRunEmulatorLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: (obj, msg) => write(process.stderr, `warning: ${msg ?? ''} ${JSON.stringify(obj)}`),
  error: (obj, msg) => write(process.stderr, `error: ${msg ?? ''} ${JSON.stringify(obj)}`),
};

function printTaskOutput(info: TaskOutputInfo, chunk: string): void {
  const prefix = `[${info.executionId}/task${info.taskIndex}${info.attempt > 0 ? `#${info.attempt}` : ''}] `;
  const lines = chunk.endsWith('\n') ? chunk.slice(0, -1).split('\n') : chunk.split('\n');
  const text = lines.map((line) => prefix + line).join('\n');
  write(info.stream === 'stderr' ? process.stderr : process.stdout, text);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      config: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      'kill-grace-ms': { type: 'string' },
      'max-concurrent-tasks': { type: 'string' },
      'run-requests-per-minute': { type: 'string' },
      'max-running-executions': { type: 'string' },
      'quota-window-ms': { type: 'string' },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    write(process.stdout, USAGE);
    return;
  }
  const emulator = await startCloudRunEmulator({
    config: values.config,
    host: values.host,
    port: integerFlag('port', values.port ?? process.env['E11_CLOUD_RUN_PORT'] ?? '8091'),
    killGraceMs: integerFlag('kill-grace-ms', values['kill-grace-ms']),
    maxConcurrentTasks: integerFlag('max-concurrent-tasks', values['max-concurrent-tasks']),
    limits: {
      runRequestsPerMinute: integerFlag('run-requests-per-minute', values['run-requests-per-minute']),
      maxRunningExecutions: integerFlag('max-running-executions', values['max-running-executions']),
      windowMs: integerFlag('quota-window-ms', values['quota-window-ms']),
    },
    onTaskOutput: values.quiet ? undefined : printTaskOutput,
    logger: stderrLogger,
  });
  write(process.stdout, `Cloud Run Jobs emulator listening on ${emulator.endpoint}`);

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    // A second signal means "now": the exit handler SIGKILLs whatever is left.
    if (signals > 1) process.exit(1);
    write(process.stderr, `Cloud Run Jobs emulator stopping (${signal})`);
    emulator.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        write(process.stderr, `error: ${error instanceof Error ? error.message : String(error)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

main().catch((error: unknown) => {
  write(process.stderr, `error: ${error instanceof Error ? error.message : String(error)}`);
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) write(process.stderr, USAGE);
  process.exit(1);
});
