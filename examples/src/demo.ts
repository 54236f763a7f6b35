// `npm run demo`: the whole E11 flow on the local stack, offline. A backend kicks off one job per
// month of a sales ledger, watches them run as Cloud Run tasks (the local Cloud Run emulator runs this
// package's entrypoint for each), receives the JobCompletedEvent from Pub/Sub, and prints
// [successes, failures] — July's ledger has a corrupt row, so one job fails on purpose.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { createFirestore, DEFAULTS, type JobCompletedEvent, terminalCount } from '@e11/core';
import { createPubSub } from '@e11/core/engine';
import { startStack, type Stack } from '@e11/emulators';
import { OrchestrationService, subscribeToJobCompleted } from '@e11/sdk';
import cliProgress from 'cli-progress';
import { lastValueFrom, tap } from 'rxjs';

import type { SumSalesParams, SumSalesResult } from './jobs/sum-sales-job.js';

const EXAMPLES_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
const MONTHS = Array.from({ length: 12 }, (_, i) => `2026-${String(i + 1).padStart(2, '0')}`);
const CUSTOMER = 'acme-retail';

const euros = (cents: number) =>
  `€${(cents / 100).toLocaleString('en-GB', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
const say = (line = '') => process.stdout.write(`${line}\n`);

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms / 1000} s`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

async function runDemo(stack: Stack): Promise<number> {
  const { projectId } = stack;
  const firestore = createFirestore({ projectId, emulatorHost: stack.env.FIRESTORE_EMULATOR_HOST });
  const pubsub = createPubSub({ projectId, emulatorHost: stack.env.PUBSUB_EMULATOR_HOST });
  const orchestrations = new OrchestrationService({
    projectId,
    firestore,
    pubsub,
    cloudRunEndpoint: stack.cloudRun.endpoint,
    launch: { ratePerMinute: 6_000 },
  });
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
        ? '\n✔ Demo complete: 11 months summed, July failed on purpose with its params, one event received.'
        : '\n✘ The demo did not end as designed (see above).',
    );
    return asDesigned ? 0 : 1;
  } finally {
    await subscription.close();
    await orchestrations.close();
    await pubsub.close();
    await firestore.terminate();
  }
}

say('E11 Jobs demo — local stack: Firestore + Pub/Sub emulators, functions, Cloud Run Jobs emulator');
const stack = await startStack({
  cloudRun: join(EXAMPLES_DIR, 'cloud-run.json'),
  onStatus: (line) => say(`  ${line}`),
}).catch((error: unknown) => {
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
}
process.exit(code);
