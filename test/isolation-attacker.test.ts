import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';

import { createDashboardServer, runCli } from '@e11/cli';
import { cloudLoggingOptions, createFirestore, type JobParams } from '@e11/core';
import { createExecutionsClient, createPubSub } from '@e11/core/engine';
import { type Stack, startStack } from '@e11/emulators';
import { createSseHandler, type OrchestrationService } from '@e11/sdk';
import { initializeTestEnvironment } from '@firebase/rules-unit-testing';
import type { Message, Subscription } from '@google-cloud/pubsub';
import { setLogLevel } from 'firebase/firestore';
import { pino } from 'pino';
import { lastValueFrom, timeout } from 'rxjs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { answerOf, dumpFirestore, httpAnswer, observe } from './attacker/answers.js';
import {
  type Attempt,
  idempotencyAttempts,
  resumeId,
  rulesAttempts,
  scheduleAttempts,
  scopeAttempts,
  serviceAttempts,
  unknownTarget,
} from './attacker/attempts.js';
import {
  type Capture,
  findMarkers,
  type Marker,
  marker,
  markerPaths,
  normalizeIds,
} from './attacker/scanner.js';
import {
  A_PARAMS,
  A_SCHEDULE,
  CARD_NUMBER,
  CUSTOMER_ID,
  CVV,
  kickOffPay,
  RECEIPT,
  SHARED_KEY,
  TAG_VALUE,
  TENANT_A,
  TENANT_B,
} from './attacker/tenant-a.js';
import { PayJob } from './fixtures/src/attacker-jobs.js';
import { payPipeline } from './fixtures/src/attacker-pipelines.js';
import { captureIo } from './helpers/capture.js';
import { runBuiltCli } from './helpers/cli.js';
import { stackService, suiteEmulators, testProjectId } from './helpers/project.js';

/**
 * Tenant B against tenant A on the local stack (Firestore + Pub/Sub emulators, the Cloud Run emulator
 * running the real runner, the functions on the Functions Framework). A runs a payment job whose
 * secrets are declared on its class only; B then tries every way in it can think of: A's ids through
 * every read API, watch, SSE and dashboard route, the CLI; A's idempotency key; re-scoping its
 * service; its service's handles; the Firestore rules with a web client signed in as B. Every
 * id-based attempt must answer exactly what an unknown id answers (`E11_UNKNOWN_ORCHESTRATION`), no
 * byte of A's data may reach B, and no secret may appear in any output anybody gets (A's own reads,
 * every process's logs, Pub/Sub, Firestore outside A's params).
 */
const ENTRYPOINT = fileURLToPath(new URL('./fixtures/dist/attacker-entrypoint.js', import.meta.url));
const PIPELINES = fileURLToPath(new URL('./fixtures/dist/attacker-pipelines.js', import.meta.url));
const RULES = readFileSync(fileURLToPath(new URL('../firestore.rules', import.meta.url)), 'utf8');
const projectId = testProjectId('attacker');
const TOPIC = 'attacker-completed';
const firestore = createFirestore({ projectId, emulatorHost: inject('firestoreHost') });
const pubsub = createPubSub({ projectId, emulatorHost: inject('pubsubHost') });

/** Everything captured, scanned at the end. */
const captures: Capture[] = [];
/** Logs of every process, appended as they arrive (scanned for secrets). */
const logs = { tasks: '', backend: '' };
let stack: Stack;
let root: OrchestrationService;
let aService: OrchestrationService;
let bService: OrchestrationService;
let subscription: Subscription;
const messages: string[] = [];
const servers: { close(): Promise<void> }[] = [];

/** A's orchestration and jobs, once kicked off, and A's pipeline. */
const a = { orchestrationId: '', jobIds: [] as string[], pipelineId: '' };

function sink(append: (text: string) => void): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      append(chunk.toString('utf8'));
      done();
    },
  });
}

async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push({
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  stack = await startStack({
    projectId,
    attach: suiteEmulators(),
    cloudRun: {
      jobs: {
        pay: { command: 'node', args: [ENTRYPOINT], maxRetries: 0, env: { E11_LOG_LEVEL: 'debug' } },
        refund: { command: 'node', args: [ENTRYPOINT], maxRetries: 0, env: { E11_LOG_LEVEL: 'debug' } },
      },
    },
    cloudRunOptions: {
      onTaskOutput: (_, chunk) => {
        logs.tasks += chunk;
      },
    },
    functionsEnv: { E11_LOG_LEVEL: 'debug' },
    pipelinesModule: PIPELINES,
    topics: [TOPIC],
    // As in production, a sweeper backs the trigger: this suite is about isolation, and under a full
    // suite's load one trigger delivery can fail all its retries (e2e-flow checks the trigger alone).
    sweepIntervalMs: 2_000,
  });
  const logger = pino(
    cloudLoggingOptions({ level: 'debug' }),
    sink((text) => (logs.backend += text)),
  );
  // The backend knows A's job class (as a typed job package gives it): its declared keys are redacted
  // from the first read on, schedules included.
  root = stackService(
    stack,
    { projectId, firestore, pubsub, defaultTopic: TOPIC },
    { logger, jobs: [PayJob], pipelines: [payPipeline] },
  );
  aService = root.forTenant(TENANT_A);
  bService = root.forTenant(TENANT_B);

  // Every JobCompletedEvent message, raw bytes and attributes.
  [subscription] = await pubsub.topic(TOPIC).createSubscription(`all-${randomUUID().slice(0, 8)}`);
  // The orchestration ids of the events received so far: A's event may arrive before kickOffJob
  // returns A's id, so the wait below also looks at what already came.
  const eventsOf = new Set<string>();
  let announce: () => void = () => undefined;
  subscription.on('message', (message: Message) => {
    messages.push(`${message.data.toString('utf8')} ${JSON.stringify(message.attributes)}`);
    eventsOf.add(message.attributes.orchestrationId ?? '');
    announce();
    message.ack();
  });

  const kicked = await kickOffPay(aService, A_PARAMS, {
    tags: { account: TAG_VALUE },
    idempotencyKey: SHARED_KEY,
  });
  a.orchestrationId = kicked.orchestrationId;
  a.jobIds = kicked.jobIds;
  const aEnded = new Promise<void>((resolve) => {
    announce = () => {
      if (eventsOf.has(a.orchestrationId)) resolve();
    };
    announce();
  });
  // A's schedule (never due during the test), with the same params.
  await aService.schedules.upsert({
    name: A_SCHEDULE,
    cron: '0 0 29 2 *',
    jobName: 'pay',
    params: A_PARAMS as unknown as JobParams[],
    kickOff: { tags: { account: TAG_VALUE } },
  });
  // A's pipeline: the same payments, as the input of a one-stage pipeline (stored with the pipeline).
  const started = await aService.startPipeline(
    payPipeline,
    { payments: A_PARAMS as unknown as JobParams[] },
    { tags: { account: TAG_VALUE } },
  );
  a.pipelineId = started.pipelineId;
  // A's own results wait for the end (and are one of A's legitimate reads).
  const results = await aService.getJobResults(a.orchestrationId, { timeoutMs: 30_000 });
  captures.push({ source: 'A: getJobResults', audience: 'a', text: JSON.stringify(results) });
  await eventOrExplain(aEnded);
  // The pipeline's end (its event published): one of A's legitimate reads too.
  const pipelineEnd = await lastValueFrom(aService.watchPipeline(a.pipelineId).pipe(timeout(60_000)));
  captures.push({ source: 'A: watchPipeline', audience: 'a', text: JSON.stringify(pipelineEnd) });
});

/** Waits for A's event; past 60 s, fails with what the trigger path and the store say instead of hanging. */
async function eventOrExplain(ended: Promise<void>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), 60_000)));
  const outcome = await Promise.race([ended, late]);
  clearTimeout(timer);
  if (outcome !== 'late') return;
  const info = await root.getOrchestration(a.orchestrationId);
  throw new Error(
    `No JobCompletedEvent for A within 60 s. Trigger: ${JSON.stringify(await stack.trigger.stats())}; ` +
      `orchestration: ${JSON.stringify({ status: info.status, counts: info.counts, total: info.total })}; ` +
      `events received for: ${JSON.stringify([...messages.map((m) => m.slice(-120))])}`,
  );
}

afterAll(async () => {
  for (const server of servers) await server.close();
  await subscription?.close();
  await root?.close();
  await stack?.stop();
  await pubsub.close();
  await firestore.terminate();
});

/** A's markers, once A's run is known. */
function markers(): Marker[] {
  return [
    marker('cardNumber (secret)', CARD_NUMBER, true),
    marker('cvv (secret, 3 characters)', CVV, true),
    marker("A's customerId", CUSTOMER_ID),
    marker("A's result", RECEIPT),
    marker("A's tag value", TAG_VALUE),
    marker("A's orchestration id", a.orchestrationId),
    marker("A's pipeline id", a.pipelineId),
    ...a.jobIds.map((id, i) => marker(`A's job id #${i}`, id)),
  ];
}

/** The leaks in `list`: each marker found in each capture (with where, in a JSON capture). */
function scan(list: readonly Capture[]): string[] {
  const all = markers();
  return list.flatMap((capture) =>
    findMarkers(capture, all).map((name) => {
      const found = all.find((m) => m.name === name) as Marker;
      const paths = markerPaths(capture.text, found.pattern);
      return `${capture.source}: contains ${name}${paths.length > 0 ? ` at ${paths.join(', ')}` : ''}`;
    }),
  );
}

/** Totals for the report line. */
const tally = { attempts: 0, leaks: 0, captures: 0, characters: 0 };

function report(list: readonly Capture[], leaks: readonly string[]): void {
  tally.leaks += leaks.length;
  tally.captures += list.length;
  tally.characters += list.reduce((sum, capture) => sum + capture.text.length, 0);
}

describe('tenant B against tenant A', () => {
  afterAll(() => {
    console.log(
      `isolation: attempts ${tally.attempts}, leaks ${tally.leaks} ` +
        `(${tally.captures} captures, ${tally.characters} characters scanned)`,
    );
  });

  it("gets B, through every attempt, exactly what an unknown id gets and no byte of A's", async () => {
    const supplied = [a.orchestrationId, ...a.jobIds, a.pipelineId];
    const leaks: string[] = [];
    const got: Capture[] = [];
    const bDashboard = await createDashboardServer(bService, { port: 0 });
    servers.push(bDashboard);
    const sse = await serve(createSseHandler(bService, { authorize: () => true }));
    const [host = '', port = ''] = inject('firestoreHost').split(':');
    setLogLevel('silent'); // the web client logs each denial on stderr
    const rules = await initializeTestEnvironment({
      projectId,
      firestore: { host, port: Number(port), rules: RULES },
    });
    const context = {
      root,
      b: bService,
      a,
      dashboard: bDashboard.url.replace(/\/$/, ''),
      sse,
      rules,
    };
    const table: Attempt[] = [
      ...serviceAttempts(context),
      ...scheduleAttempts(context),
      ...idempotencyAttempts(context),
      ...scopeAttempts(context),
      ...rulesAttempts(context),
    ];
    try {
      for (const attempt of table) {
        tally.attempts++;
        const target = {
          orchestrationId: a.orchestrationId,
          jobId: a.jobIds[1] as string,
          schedule: A_SCHEDULE,
          pipelineId: a.pipelineId,
        };
        const answer = await attempt.run(target);
        const names = attempt.namesIds ?? attempt.ids !== 'none';
        got.push({
          source: attempt.name,
          audience: 'b',
          text: answer.bytes,
          supplied: names ? supplied : [],
        });
        if (attempt.ids !== 'none') {
          const unknown = unknownTarget();
          const reference = await attempt.run(unknown);
          const mine = normalizeIds(answer.outcome, {
            id: target.orchestrationId,
            job: target.jobId,
            schedule: target.schedule,
            pipeline: target.pipelineId,
          });
          const theirs = normalizeIds(reference.outcome, {
            id: unknown.orchestrationId,
            job: unknown.jobId,
            schedule: unknown.schedule,
            pipeline: unknown.pipelineId,
          });
          if (mine !== theirs)
            leaks.push(
              `${attempt.name}: answers A's id differently from an unknown id:\n` +
                `  A's id:  ${mine.slice(0, 400)}\n  unknown: ${theirs.slice(0, 400)}`,
            );
          const expected = attempt.unknownCode ?? 'E11_UNKNOWN_ORCHESTRATION';
          if (attempt.ids === 'unknown' && answer.code !== expected)
            leaks.push(`${attempt.name}: ended in ${answer.code ?? 'no error'}, not ${expected}`);
        }
        const problem = attempt.check?.(answer);
        if (problem) leaks.push(`${attempt.name}: ${problem}`);
      }
    } finally {
      await rules.cleanup();
    }
    leaks.push(...scan(got));
    report(got, leaks);
    expect(
      leaks,
      `tenant B got A's data or an answer that tells A's ids apart:\n${leaks.join('\n')}`,
    ).toEqual([]);
  });

  it("keeps A's class-declared secrets out of A's own reads, every process's logs, the events and the stored documents", async () => {
    const outputs: Capture[] = [...captures];
    const own = async (source: string, run: () => unknown) => {
      const answer = await answerOf(run);
      outputs.push({ source: `A: ${source}`, audience: 'a', text: answer.bytes });
    };
    for (const jobId of a.jobIds)
      await own(`getJob ${jobId}`, () => aService.getJob(a.orchestrationId, jobId));
    await own('listJobs', () => aService.listJobs(a.orchestrationId));
    await own('schedules get', () => aService.schedules.get(A_SCHEDULE));
    await own('schedules list', () => aService.schedules.list());
    await own('listDeadLetters', () => aService.listDeadLetters());
    await own('watchJobs', async () => (await observe(aService.watchJobs(a.orchestrationId))).bytes);
    await own('getPipeline', () => aService.getPipeline(a.pipelineId));
    await own('listPipelines', () => aService.listPipelines());

    // A's dashboard: its JSON and its SSE stream, replaying the job changes.
    const aDashboard = await createDashboardServer(aService, { port: 0 });
    servers.push(aDashboard);
    const base = aDashboard.url.replace(/\/$/, '');
    for (const path of [
      '/api/orchestrations',
      `/api/orchestrations/${a.orchestrationId}`,
      `/api/orchestrations/${a.orchestrationId}/failures`,
      '/api/metrics',
      '/api/pipelines',
      `/api/pipelines/${a.pipelineId}`,
    ]) {
      const answer = await httpAnswer(`${base}${path}`);
      outputs.push({ source: `A: dashboard ${path}`, audience: 'a', text: answer.bytes });
    }
    const replay = await httpAnswer(`${base}/api/orchestrations/${a.orchestrationId}/events`, {
      headers: { accept: 'text/event-stream', 'last-event-id': resumeId() },
    });
    outputs.push({ source: 'A: dashboard SSE with Last-Event-ID', audience: 'a', text: replay.bytes });

    // The CLI: the built executable once, as A (`--tenant a`), then in-process with A's service.
    const built = await runBuiltCli(
      projectId,
      ['--tenant', TENANT_A, '--json', 'results', a.orchestrationId],
      {
        E11_TOPIC: TOPIC,
      },
    );
    expect(built.code, built.stderr).toBe(1); // one of A's jobs failed
    outputs.push({
      source: `A: e11 --tenant a --json results ${a.orchestrationId}`,
      audience: 'a',
      text: built.stdout + built.stderr,
    });
    for (const args of [
      ['results', a.orchestrationId],
      ['dlq', 'list', '--orchestration', a.orchestrationId],
      ['--json', 'dlq', 'list'],
      ['--json', 'status', a.orchestrationId],
      ['--json', 'pipeline', 'status', a.pipelineId],
    ]) {
      const io = captureIo();
      const code = await runCli(args, io, () => root.forTenant(TENANT_A));
      const text = `exit ${code}\n${io.stdout.text}\n${io.stderr.text}`;
      outputs.push({ source: `A: e11 ${args.join(' ')}`, audience: 'a', text });
    }

    // Every process's logs, the events, the executions and every Firestore document outside A's params.
    outputs.push({ source: 'task logs (Cloud Run emulator)', audience: 'a', text: logs.tasks });
    outputs.push({ source: 'functions logs', audience: 'a', text: stack.functions.output() });
    outputs.push({ source: "backend's pino logger", audience: 'a', text: logs.backend });
    outputs.push({ source: 'Pub/Sub messages', audience: 'a', text: messages.join('\n') });
    const executions = createExecutionsClient({ projectId, emulatorHost: stack.cloudRun.endpoint });
    try {
      const [listed] = await executions.listExecutions({
        parent: `projects/${projectId}/locations/${stack.env.E11_REGION}/jobs/pay`,
      });
      expect(listed.length).toBeGreaterThan(0);
      outputs.push({
        source: 'Cloud Run executions (Admin API)',
        audience: 'a',
        text: JSON.stringify(listed),
      });
    } finally {
      await executions.close();
    }
    for (const { path, data } of await dumpFirestore(firestore)) {
      if (/\/params\/[^/]+$/.test(path)) continue; // A's params: where the secrets are kept
      for (const [field, value] of Object.entries(data as Record<string, unknown>)) {
        // A job's own copy of its params, and its checkpoint: the job's state, handed back to it as stored
        // on resume (every read path redacts it; the dump above is the admin's raw view).
        if ((field === 'params' || field === 'checkpoint') && /\/jobs\/[^/]+$/.test(path)) continue;
        // A schedule's params, stored as given for its runs (every read redacts them).
        if (field === 'params' && /schedules\/[^/]+$/.test(path)) continue;
        // A pipeline's input, stored as given for its stages' params (every read redacts it).
        if (field === 'input' && /pipelines\/[^/]+$/.test(path)) continue;
        outputs.push({ source: `Firestore ${path} .${field}`, audience: 'a', text: JSON.stringify(value) });
      }
    }

    // Every source was really captured.
    const all = (source: RegExp) =>
      outputs
        .filter((c) => source.test(c.source))
        .map((c) => c.text)
        .join('\n');
    expect(all(/^task logs/)).toContain('charging card');
    expect(all(/^functions logs/)).toContain('Published JobCompletedEvent');
    expect(all(/^Pub\/Sub/)).toContain(a.orchestrationId);
    expect(all(/^A: getJobResults/)).toContain(RECEIPT);
    expect(all(/^A: dashboard SSE/)).toContain('event: job');
    expect(all(/^Firestore /)).toContain(TAG_VALUE);
    expect(all(/^A: getPipeline/)).toContain('pay-batch');
    expect(all(/^A: dashboard \/api\/pipelines\//)).toContain(a.pipelineId);

    const leaks = scan(outputs);
    report(outputs, leaks);
    expect(leaks, `a secret declared on A's job class got out:\n${leaks.join('\n')}`).toEqual([]);
  });
});
