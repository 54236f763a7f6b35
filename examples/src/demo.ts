// `npm run demo`: the whole E11 flow on the local stack, offline. A backend kicks off one job per
// month of a sales ledger, watches them run as Cloud Run tasks (the local Cloud Run emulator runs this
// package's entrypoint for each), receives the JobCompletedEvent from Pub/Sub, and prints
// [successes, failures] — July's ledger has a corrupt row, so one job fails on purpose. Then it starts
// the `sales-report` pipeline (sum every month, then one job folds them into a yearly report): the
// completion function starts the second stage when the first ends, and one PipelineCompletedEvent
// says the pipeline is done. Every process (this backend, the tasks, the functions) records
// OpenTelemetry spans; the demo prints the first orchestration's trace.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { DEFAULTS, type JobCompletedEvent, terminalCount } from '@e11/core';
import type { createPubSub } from '@e11/core/engine';
import type { Stack } from '@e11/emulators';
import {
  type CollectedSpan,
  formatTraceTree,
  readTraces,
  registerTraceCollector,
} from '@e11/emulators/telemetry';
import {
  type OrchestrationService,
  type PipelineCompletedEvent,
  subscribeToJobCompleted,
  subscribeToPipelineCompleted,
} from '@e11/sdk';
import cliProgress from 'cli-progress';
import { lastValueFrom, tap } from 'rxjs';

import type { SumSalesParams, SumSalesResult } from './jobs/sum-sales-job.js';
import type { YearlyReportResult } from './jobs/yearly-report-job.js';
import { connectBackend, say, startExampleStack, withTimeout } from './local-stack.js';
import { salesReport } from './pipelines.js';

const MONTHS = Array.from({ length: 12 }, (_, i) => `2026-${String(i + 1).padStart(2, '0')}`);
const CUSTOMER = 'acme-retail';

const euros = (cents: number) =>
  `€${(cents / 100).toLocaleString('en-GB', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
async function runDemo(stack: Stack): Promise<number> {
  const backend = connectBackend(stack);
  const { pubsub, orchestrations } = backend;
  let resolveEvent: (event: JobCompletedEvent) => void = () => undefined;
  const eventReceived = new Promise<JobCompletedEvent>((resolve) => (resolveEvent = resolve));
  // A downstream service listening for this customer's completions (the filter runs server-side in
  // Pub/Sub and again client-side, since the emulator ignores filters).
  const subscription = await subscribeToJobCompleted(
    pubsub,
    { topic: DEFAULTS.topic },
    (event) => {
      resolveEvent(event);
      return Promise.resolve();
    },
    { filter: { customerId: CUSTOMER } },
  );
  try {
    say(
      `\n▶ kickOffJob('sum_sales', ${MONTHS.length} parameter sets — one per month of the 2026 sales ledger)`,
    );
    const { orchestrationId, jobIds } = await orchestrations.kickOffJob(
      'sum_sales',
      MONTHS.map((month): SumSalesParams => ({ month })),
      { tags: { customerId: CUSTOMER, report: 'sales-2026' } },
    );
    say(`  orchestration ${orchestrationId}, ${jobIds.length} jobs, one Cloud Run execution each\n`);

    const bar = process.stdout.isTTY
      ? new cliProgress.SingleBar(
          {
            format: '  {bar} {value}/{total} jobs ended | {completed} completed, {errored} failed | {status}',
            hideCursor: true,
          },
          cliProgress.Presets.shades_classic,
        )
      : undefined;
    bar?.start(MONTHS.length, 0, { completed: 0, errored: 0, status: 'Pending' });
    let lastLine = '';
    await lastValueFrom(
      orchestrations.watch(orchestrationId, { timeoutMs: 180_000 }).pipe(
        tap((info) => {
          const payload = {
            completed: info.counts.completed,
            errored: info.counts.errored,
            status: info.status,
          };
          bar?.update(terminalCount(info.counts), payload);
          const line = `  ${terminalCount(info.counts)}/${info.total} jobs ended (${info.counts.inProgress} running, ${info.counts.completed} completed, ${info.counts.errored} failed) — ${info.status}`;
          if (!bar && line !== lastLine) say((lastLine = line));
        }),
      ),
    );
    bar?.stop();

    const event = await withTimeout(eventReceived, 60_000, 'The JobCompletedEvent');
    say('\n▶ JobCompletedEvent received from Pub/Sub');
    say(JSON.stringify(event, null, 2).replace(/^/gm, '  '));

    if (event.traceId !== undefined) {
      const spans = await traceOf(event.traceId);
      say(`\n▶ Its OpenTelemetry trace: kickOffJob → launches → task attempts → functions → publish`);
      // E11's spans (and the jobs' own, had they any), without the Firestore client's.
      const filter = (span: CollectedSpan) => !span.scope.startsWith('@google-cloud/');
      say(formatTraceTree(spans, { traceId: event.traceId, maxSiblings: 1, filter }).replace(/^/gm, '  '));
    }

    const [successes, failures] = await orchestrations.getJobResults<SumSalesResult, SumSalesParams>(
      orchestrationId,
    );
    say(
      `\n▶ getJobResults → [${successes.length} successes, ${failures === null ? 'null' : `${failures.length} failure(s)`}]`,
    );
    const regions = new Map<string, number>();
    for (const { params, result } of successes) {
      say(
        `  ✔ ${params.month}: ${String(result.orders).padStart(4)} orders  ${euros(result.totalCents).padStart(14)}`,
      );
      for (const [region, cents] of Object.entries(result.revenueCents))
        regions.set(region, (regions.get(region) ?? 0) + cents);
    }
    for (const failure of failures ?? []) {
      say(`  ✘ ${JSON.stringify(failure.params)} — ${failure.error.code}: ${failure.error.message}`);
      say(
        `    (job ${failure.jobId}, orchestration ${failure.orchestrationId}, job name ${failure.jobName})`,
      );
    }
    say('\n▶ Revenue by region (the months that succeeded)');
    for (const [region, cents] of [...regions].sort((a, b) => b[1] - a[1]))
      say(`  ${region.padEnd(6)} ${euros(cents).padStart(16)}`);
    const total = [...regions.values()].reduce((sum, cents) => sum + cents, 0);
    say(`  ${'total'.padEnd(6)} ${euros(total).padStart(16)}`);
    const asDesigned =
      successes.length === 11 &&
      failures?.length === 1 &&
      failures[0]?.params.month === '2026-07' &&
      event.status === 'Errored';
    say(
      asDesigned
        ? '\n✔ 11 months summed, July failed on purpose with its params, one event received.'
        : '\n✘ The orchestration did not end as designed (see above).',
    );
    const report = await runPipeline(orchestrations, pubsub);
    say(
      report
        ? '\n✔ Demo complete: the pipeline went on past July (`continue`), and its report says July is missing.'
        : '\n✘ The demo did not end as designed (see above).',
    );
    return asDesigned && report ? 0 : 1;
  } finally {
    await subscription.close();
    await backend.close();
  }
}

/** Where every process of the demo writes its spans (JSON lines, one file per process). */
const traceDir = mkdtempSync(join(tmpdir(), 'e11-demo-traces-'));

/**
 * The spans of a trace once its publish span and the function span around it are written (the
 * function ends them after Pub/Sub answered, which can be after the event arrived), or what there is
 * after 10 s.
 */
async function traceOf(traceId: string): Promise<CollectedSpan[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const spans = (await readTraces(traceDir)).filter((span) => span.traceId === traceId);
    const publish = spans.find((span) => span.kind === 'producer');
    const written = publish !== undefined && spans.some((span) => span.spanId === publish.parentSpanId);
    if (written || Date.now() > deadline) return spans;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * The second part: `startPipeline(salesReport, { months })`. Prints each stage as it starts and ends
 * (watchPipeline), the PipelineCompletedEvent, and the report job's result. True when it ended as
 * designed.
 */
async function runPipeline(
  orchestrations: OrchestrationService,
  pubsub: ReturnType<typeof createPubSub>,
): Promise<boolean> {
  let resolveEnd: (event: PipelineCompletedEvent) => void = () => undefined;
  const ended = new Promise<PipelineCompletedEvent>((resolve) => (resolveEnd = resolve));
  const subscription = await subscribeToPipelineCompleted(pubsub, { topic: DEFAULTS.topic }, (event) => {
    resolveEnd(event);
    return Promise.resolve();
  });
  try {
    say(`\n▶ startPipeline('${salesReport.name}', { months: 12 months }): months ×12 → report ×1`);
    const { pipelineId } = await orchestrations.startPipeline(
      salesReport,
      { months: MONTHS },
      { tags: { customerId: CUSTOMER, report: 'yearly-2026' } },
    );
    say(`  pipeline ${pipelineId}`);
    const seen = new Set<string>();
    await lastValueFrom(
      orchestrations.watchPipeline(pipelineId).pipe(
        tap((info) => {
          for (const stage of info.stages) {
            const line = `  stage ${stage.name.padEnd(7)} ${stage.status}${stage.counts ? ` (${stage.counts.completed} completed, ${stage.counts.errored} failed)` : ''}`;
            if (stage.status === 'Waiting' || seen.has(line)) continue;
            seen.add(line);
            say(line);
          }
        }),
      ),
    );
    const event = await withTimeout(ended, 60_000, 'The PipelineCompletedEvent');
    say('\n▶ PipelineCompletedEvent received from Pub/Sub');
    say(JSON.stringify(event, null, 2).replace(/^/gm, '  '));
    const reportStage = (await orchestrations.getPipeline(pipelineId)).stages[1];
    const [results] = await orchestrations.getJobResults<YearlyReportResult>(
      reportStage?.orchestrationId ?? '',
    );
    const report = results[0]?.result;
    if (report) {
      say("\n▶ The report job's result");
      say(`  ${report.orders} orders, ${euros(report.totalCents)}`);
      say(`  best region ${report.bestRegion}, best month ${report.bestMonth}`);
      say(`  missing months: ${report.missing.join(', ') || 'none'}`);
    }
    return event.status === 'Completed' && report?.missing.join(',') === '2026-07';
  } finally {
    await subscription.close();
  }
}

say('E11 Jobs demo — local stack: Firestore + Pub/Sub emulators, functions, Cloud Run Jobs emulator');
// This process's spans (kickOffJob, its launches) go where the stack's tasks and functions write theirs.
registerTraceCollector({ dir: traceDir, service: 'backend' });
const stack = await startExampleStack((line) => say(`  ${line}`), traceDir).catch((error: unknown) => {
  process.stderr.write(`e11 demo: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
const stop = (signal: NodeJS.Signals) => {
  say(`\n${signal}: stopping the local stack…`);
  void stack.stop().then(() => process.exit(130));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
let code = 1;
try {
  code = await runDemo(stack);
} catch (error) {
  process.stderr.write(`e11 demo: ${error instanceof Error ? error.message : String(error)}\n`);
} finally {
  say('  stopping the local stack…');
  await stack.stop();
  rmSync(traceDir, { recursive: true, force: true });
}
process.exit(code);
