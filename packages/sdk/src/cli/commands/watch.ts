import { JobStatus } from '@e11/core';
import type { OrchestrationInfo } from '@e11/core/engine';
import { Presets, SingleBar } from 'cli-progress';
import { type Command, Option } from 'commander';

import type { CompleteOn } from '../../monitoring/watch-orchestration.js';
import type { OrchestrationService } from '../../orchestration/orchestration-service.js';
import { parseDuration } from '../arguments.js';
import type { CommandAction } from '../command-action.js';
import { progressLine } from '../format.js';
import { type CliIo, ExitCode, writeJson, writeLines } from '../io.js';

/** Arguments of `e11 watch`. */
export interface WatchArgs {
  orchestrationId: string;
  timeoutMs?: number;
  completeOn?: CompleteOn;
  json?: boolean;
}

/** True when the orchestration ended without failed or cancelled jobs. */
function succeeded(info: OrchestrationInfo): boolean {
  return (
    info.status !== JobStatus.Errored &&
    info.status !== JobStatus.Cancelled &&
    info.counts.errored === 0 &&
    info.counts.cancelled === 0
  );
}

/**
 * `e11 watch <id> [--timeout 10m] [--complete-on jobs]`: follows the orchestration live until it
 * ends — a progress bar on stderr when it is a terminal, one status line per change otherwise, one
 * JSON object per snapshot with `--json`. Exits 0 when every job completed, 1 when some failed or it
 * was cancelled, 3 for an unknown id, 4 on timeout, 130 on Ctrl-C.
 */
export async function watchCommand(
  service: OrchestrationService,
  args: WatchArgs,
  io: CliIo,
): Promise<number> {
  const useBar = !args.json && io.stderr.isTTY === true;
  let bar: SingleBar | undefined;
  let last: OrchestrationInfo | undefined;
  let interrupted = false;
  try {
    await new Promise<void>((resolve, reject) => {
      const subscription = service
        .watch(args.orchestrationId, { timeoutMs: args.timeoutMs, completeOn: args.completeOn })
        .subscribe({
          next: (info) => {
            last = info;
            const done = info.counts.completed + info.counts.errored + info.counts.cancelled;
            if (args.json) {
              writeJson(io, info);
            } else if (useBar) {
              const payload = {
                status: info.status,
                errored: info.counts.errored,
                running: info.counts.inProgress,
              };
              if (!bar) {
                bar = new SingleBar(
                  {
                    stream: io.stderr,
                    format:
                      '{bar} {percentage}% | {value}/{total} | {status} | running {running} | errored {errored}',
                    hideCursor: true,
                  },
                  Presets.shades_classic,
                );
                bar.start(info.total, done, payload);
              } else {
                bar.setTotal(info.total);
                bar.update(done, payload);
              }
            } else {
              writeLines(io, progressLine(info));
            }
          },
          complete: resolve,
          error: reject,
        });
      io.signal?.addEventListener(
        'abort',
        () => {
          interrupted = true;
          subscription.unsubscribe();
          resolve();
        },
        { once: true },
      );
    });
  } finally {
    bar?.stop();
  }
  if (interrupted) return ExitCode.Interrupted;
  if (!last) return ExitCode.Failed;
  if (!args.json) writeLines(io, `Finished: ${progressLine(last)}`);
  return succeeded(last) ? ExitCode.Ok : ExitCode.Failed;
}

/** Registers `e11 watch <id>`. */
export function registerWatchCommand(program: Command, action: CommandAction, io: CliIo): void {
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
}
