import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';

import { createDashboardServer } from '@e11/cli';
import { cloudLoggingOptions, createStore, REDACTED } from '@e11/core';
import { type Stack, startStack } from '@e11/emulators';
import { type JobTransition, type OrchestrationService } from '@e11/sdk';
import { pino } from 'pino';
import { lastValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type ChargeParams, ChargeCardJob } from './fixtures/dist/secret-jobs.js';
import { runBuiltCli } from './helpers/cli.js';
import { CompletedEvents } from './helpers/completed-events.js';
import { emulatorClients, stackService, suiteEmulators, testProjectId } from './helpers/project.js';
import { SseClient } from './helpers/sse-client.js';

/**
 * Sensitive keys declared only on the job class (`@JobName('charge_card', { sensitiveKeys })`), never
 * in the kick-off's options, must be redacted on every path out: the SDK's reads and watches, SSE,
 * the dashboard's JSON, the CLI, the stored error and progress fields, events and every process's log.
 * The CVV is three characters long, as real ones are.
 */
const ENTRYPOINT = fileURLToPath(new URL('./fixtures/dist/secret-entrypoint.js', import.meta.url));
const projectId = testProjectId('redaction-paths');
const TOPIC = 'redaction-completed';
const CARD = '4111222233334444';
const CVV = 'Q7x';
const HOLDER = 'alice-holder';
const { firestore, pubsub } = emulatorClients(projectId);
const store = createStore({ firestore, collectionPrefix: 'e11_' });
const events = new CompletedEvents();
const sdkLog: string[] = [];
const taskLog: string[] = [];
let stack: Stack;
let service: OrchestrationService;

const paramsOf = (fail: boolean): ChargeParams => ({ cardNumber: CARD, cvv: CVV, holder: HOLDER, fail });

/** Where a secret shows in `text`: the card number anywhere, the short CVV as a whole token. */
function leaks(text: string): string[] {
  const found: string[] = [];
  if (text.includes(CARD)) found.push('card number');
  if (/(?<![\p{L}\p{N}_])Q7x(?![\p{L}\p{N}_])/u.test(text)) found.push('cvv');
  return found;
}

beforeAll(async () => {
  stack = await startStack({
    projectId,
    attach: suiteEmulators(),
    cloudRun: {
      jobs: { 'charge-card': { command: 'node', args: [ENTRYPOINT], maxRetries: 0 } },
    },
    cloudRunOptions: { onTaskOutput: (_, chunk) => void taskLog.push(chunk) },
    functionsEnv: { E11_LOG_LEVEL: 'debug' },
    topics: [TOPIC],
    sweepIntervalMs: 0,
  });
  await events.subscribe(pubsub, TOPIC);
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      sdkLog.push(chunk.toString('utf8'));
      done();
    },
  });
  service = stackService(
    stack,
    { projectId, firestore, pubsub, defaultTopic: TOPIC },
    { jobs: [ChargeCardJob], logger: pino(cloudLoggingOptions({ level: 'debug' }), sink) },
  );
});

afterAll(async () => {
  await service.close();
  await events.close();
  await stack.stop();
  await pubsub.close();
  await firestore.terminate();
});

/** Every captured output of one orchestration, labelled by where it came from. */
async function captureOrchestration(
  orchestrationId: string,
  watched: Promise<JobTransition[]>,
  sse: SseClient,
  dashboardUrl: string,
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const [successes, failures] = await service.getJobResults(orchestrationId, { timeoutMs: 30_000 });
  out.getJobResults = JSON.stringify([successes, failures]);
  // Redaction by key: the secret's place is kept, the rest of the params stays readable.
  expect(failures?.[0]?.params).toMatchObject({ cardNumber: REDACTED, cvv: REDACTED, holder: HOLDER });
  expect(successes[0]?.result).toMatchObject({ cardNumber: REDACTED, cvv: REDACTED, ok: true });
  expect(failures?.[0]?.error.message).toContain(REDACTED);
  out.watchJobs = JSON.stringify(await watched);
  // The server ends the stream after `completed`.
  await sse.done;
  expect(sse.messages.at(-1)?.event).toBe('completed');
  out.sse = JSON.stringify(sse.messages);
  const jobs = await service.listJobs(orchestrationId);
  out.listJobs = JSON.stringify(jobs);
  out.getJob = JSON.stringify(
    await Promise.all(jobs.map(async (job) => service.getJob(orchestrationId, job.id))),
  );
  out.deadLetters = JSON.stringify(await service.listDeadLetters({ orchestrationId }));
  for (const path of [
    '/api/orchestrations',
    `/api/orchestrations/${orchestrationId}`,
    `/api/orchestrations/${orchestrationId}/failures`,
  ]) {
    const response = await fetch(new URL(path, dashboardUrl));
    expect(response.status).toBe(200);
    out[`dashboard ${path}`] = await response.text();
  }
  expect(out[`dashboard /api/orchestrations/${orchestrationId}/failures`]).toContain(HOLDER);
  // The stored fields a job's text reaches: its error, attempt records and progress message.
  const stored = await store.collections.jobs(orchestrationId).get();
  out.storedJobs = JSON.stringify(
    stored.docs.map((doc) => {
      const data = doc.data() as Record<string, unknown>;
      return { error: data.error, attempts: data.attempts, progress: data.progress };
    }),
  );
  expect(out.storedJobs).toContain('authorised');
  return out;
}

describe('sensitive keys declared on the job class', () => {
  it('are stored with the orchestration and redacted on every path out, a 3-character cvv too', async () => {
    const dashboard = await createDashboardServer(service, { port: 0, authorize: () => true });
    try {
      const outputs: Record<string, string> = {};
      const kickOffs = {
        'by name (class registered)': await service.kickOffJob('charge_card', [
          paramsOf(true),
          paramsOf(false),
        ]),
        'by class': await service.kickOffJob(ChargeCardJob, [paramsOf(true), paramsOf(false)]),
      };
      const runs = Object.entries(kickOffs).map(([how, { orchestrationId }]) => ({
        how,
        orchestrationId,
        watched: lastValueFrom(service.watchJobs(orchestrationId, { timeoutMs: 30_000 }).pipe(toArray())),
        sse: SseClient.connect(new URL(`/api/orchestrations/${orchestrationId}/events`, dashboard.url).href),
      }));
      await Promise.all(
        runs.map(async (run) => {
          const doc = await store.collections.orchestrations().doc(run.orchestrationId).get();
          expect(doc.get('sensitiveKeys'), run.how).toEqual(expect.arrayContaining(['cardNumber', 'cvv']));
          const captured = await captureOrchestration(
            run.orchestrationId,
            run.watched,
            await run.sse,
            dashboard.url,
          );
          for (const [where, text] of Object.entries(captured)) outputs[`${run.how}: ${where}`] = text;
          outputs[`${run.how}: event`] = JSON.stringify(await events.eventFor(run.orchestrationId));
        }),
      );
      // The CLI as an operator runs it (processes in parallel: each loads the SDK).
      const [first, second] = runs.map((run) => run.orchestrationId) as [string, string];
      const commands = [
        ['--json', 'results', first],
        ['results', second],
        ['dlq', 'list'],
        ['--json', 'watch', second],
      ];
      const cli = await Promise.all(
        commands.map(async (args) => {
          const run = await runBuiltCli(projectId, args);
          return { args, code: run.code, output: run.stdout + run.stderr };
        }),
      );
      for (const { args, code, output } of cli) {
        // 1: some jobs failed (results, watch); never 3 (unknown) or another error.
        expect([0, 1], `e11 ${args.join(' ')}: ${output}`).toContain(code);
        outputs[`e11 ${args.join(' ')}`] = output;
      }
      expect(outputs['e11 dlq list']).toContain(HOLDER);
      expect(outputs['e11 dlq list']).toContain(second);
      await stack.functions.waitForOutput(/Published JobCompletedEvent[\s\S]*Published JobCompletedEvent/);
      outputs['functions log'] = stack.functions.output();
      outputs['task log'] = taskLog.join('');
      outputs['sdk log'] = sdkLog.join('');
      // The task logs were captured, with the job's own line redacted rather than dropped.
      expect(outputs['task log']).toContain(`charging card ${REDACTED} with cvv ${REDACTED} for ${HOLDER}`);
      const found = Object.entries(outputs).flatMap(([where, text]) =>
        leaks(text).map((secret) => `${secret} in ${where}`),
      );
      expect(found).toEqual([]);
      const bytes = Object.values(outputs).reduce((sum, text) => sum + text.length, 0);
      console.log(
        `[redaction-paths] ${Object.keys(outputs).length} outputs, ${bytes} characters scanned: 0 leaks`,
      );
    } finally {
      await dashboard.close();
    }
  });

  it('are added to the orchestration by the runner when a service that does not know the class kicks it off', async () => {
    const unaware = stackService(stack, { projectId, firestore, pubsub, defaultTopic: TOPIC });
    try {
      const { orchestrationId } = await unaware.kickOffJob('charge_card', [paramsOf(true)]);
      const watched = lastValueFrom(
        unaware.watchJobs(orchestrationId, { timeoutMs: 30_000 }).pipe(toArray()),
      );
      const [, failures] = await unaware.getJobResults(orchestrationId, { timeoutMs: 30_000 });
      // A watch opened before the first claim: once a job shows a claim, the stored keys apply
      // (the job's Pending listing before it is the documented window of an unregistered class).
      const claimed = (await watched).filter((transition) => transition.job.attempt >= 1);
      expect(claimed.length).toBeGreaterThan(0);
      expect(leaks(JSON.stringify(claimed))).toEqual([]);
      const doc = await store.collections.orchestrations().doc(orchestrationId).get();
      expect(doc.get('sensitiveKeys')).toEqual(expect.arrayContaining(['cardNumber', 'cvv']));
      expect(failures?.[0]?.params).toMatchObject({ cardNumber: REDACTED, cvv: REDACTED, holder: HOLDER });
      expect(leaks(JSON.stringify(failures))).toEqual([]);
      expect(leaks(JSON.stringify(await unaware.listJobs(orchestrationId)))).toEqual([]);
    } finally {
      await unaware.close();
    }
  });
});
