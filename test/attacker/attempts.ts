import { randomUUID } from 'node:crypto';

import { runCli } from '@e11/cli';
import { type OrchestrationService } from '@e11/sdk';
import { formatEventId } from '@e11/sdk/testing';
import type { RulesTestEnvironment } from '@firebase/rules-unit-testing';
import { Timestamp } from '@google-cloud/firestore';
import {
  collection,
  collectionGroup,
  deleteDoc,
  doc,
  getDoc,
  getDocs,
  setDoc,
  updateDoc,
} from 'firebase/firestore';

import { captureIo } from '../helpers/capture.js';

import { type Answer, answerOf, httpAnswer, observe } from './answers.js';
import { B_PARAMS, kickOffPay, SHARED_KEY, TENANT_A, TENANT_B } from './tenant-a.js';

/**
 * The table of tenant B's attempts on tenant A (test/isolation-attacker.test.ts runs them): each
 * named, each returning what B got. Grouped by the way in: B's scoped service, SSE, dashboard and
 * CLI; A's idempotency key; B's scope and handles; the Firestore rules as B.
 */

/** What the attempts act on. */
export interface AttackContext {
  /** The unscoped service (the deployment's); attempts only derive tenant views from it. */
  root: OrchestrationService;
  /** B's tenant-scoped service. */
  b: OrchestrationService;
  /** A's orchestration, job and pipeline ids (what B guessed or was leaked). */
  a: { orchestrationId: string; jobIds: string[]; pipelineId: string };
  /** Base URL of a dashboard served for B. */
  dashboard: string;
  /** Base URL of an SSE handler served for B. */
  sse: string;
  /** The Firestore rules environment (web client SDK) on A's project. */
  rules: RulesTestEnvironment;
}

/** The ids an attempt names. */
export interface Target {
  orchestrationId: string;
  jobId: string;
  /** A schedule name (A's own, or one that never existed). */
  schedule: string;
  pipelineId: string;
}

/** What a random id that never existed gets: the reference for every id-based attempt. */
export function unknownTarget(): Target {
  return {
    orchestrationId: randomUUID(),
    jobId: randomUUID(),
    schedule: `nope-${randomUUID().slice(0, 8)}`,
    pipelineId: randomUUID(),
  };
}

/** One named attempt of tenant B. */
export interface Attempt {
  name: string;
  /**
   * 'unknown': B names A's ids; the answer must be E11_UNKNOWN_ORCHESTRATION and equal (ids aside) to
   * the answer about a random id. 'same': only equal to that answer (a filter that matches nothing).
   * 'none': B names no id of A's.
   */
  ids: 'unknown' | 'same' | 'none';
  /** The code an 'unknown' attempt must end in. @default 'E11_UNKNOWN_ORCHESTRATION' */
  unknownCode?: string;
  /** B names A's ids itself (they may be echoed back). @default ids !== 'none' */
  namesIds?: boolean;
  run: (target: Target) => Promise<Answer>;
  /** A reason the answer is a leak beyond the markers it carries (e.g. "deduplicated into A's run"). */
  check?: (answer: Answer) => string | undefined;
}

/** Runs B's CLI in-process with a service scoped to B (the CLI's own service factory hook). */
async function cliAsB(root: OrchestrationService, args: string[]): Promise<Answer> {
  const io = captureIo();
  const code = await runCli(args, io, () => root.forTenant(TENANT_B));
  const text = `exit ${code}\n${io.stdout.text}\n${io.stderr.text}`;
  return { outcome: text, code: /\((E11_[A-Z_]+)\)/.exec(io.stderr.text)?.[1] ?? null, bytes: text };
}

/** An SSE event id five minutes old: a resume that replays every job change since then. */
export function resumeId(): string {
  return formatEventId(Timestamp.fromMillis(Date.now() - 5 * 60_000), 1);
}

/** B's attempts through its scoped service, its dashboard, its SSE handler and its CLI. */
export function serviceAttempts(ctx: AttackContext): Attempt[] {
  const { b: bService } = ctx;
  const sdk = (name: string, run: (t: Target) => unknown, ids: Attempt['ids'] = 'unknown'): Attempt => ({
    name: `sdk ${name}`,
    ids,
    run: (t) => answerOf(() => run(t)),
  });
  const http = (
    name: string,
    path: (t: Target) => string,
    init: { method?: string; headers?: Record<string, string> } = {},
    ids: Attempt['ids'] = 'unknown',
  ): Attempt => ({ name, ids, run: (t) => httpAnswer(path(t), init) });
  const cli = (args: (t: Target) => string[], ids: Attempt['ids'] = 'unknown'): Attempt => ({
    name: `cli e11 ${args({ orchestrationId: '<id>', jobId: '<job>', schedule: '<schedule>', pipelineId: '<pipeline>' }).join(' ')}`,
    ids,
    run: (t) => cliAsB(ctx.root, args(t)),
  });
  const d = ctx.dashboard;
  // A listener on the jobs that is attached before the tenant check races it: repeated, so that a
  // race lost about half the time shows (on main, 1 to 4 of every 4 leaked).
  const watchJobsAttempts = [1, 2, 3, 4, 5, 6, 7, 8].map((n): Attempt => ({
    name: `sdk watchJobs #${n} (the jobs listener races the tenant check)`,
    ids: 'unknown',
    run: (t) => observe(bService.watchJobs(t.orchestrationId)),
  }));
  return [
    sdk('getOrchestration', (t) => bService.getOrchestration(t.orchestrationId)),
    sdk('getJob', (t) => bService.getJob(t.orchestrationId, t.jobId)),
    sdk('listJobs', (t) => bService.listJobs(t.orchestrationId)),
    sdk('listJobs Errored', (t) => bService.listJobs(t.orchestrationId, { status: 'Errored' })),
    sdk('getJobResults', (t) => bService.getJobResults(t.orchestrationId, { timeoutMs: 2_000 })),
    { name: 'sdk watch', ids: 'unknown', run: (t) => observe(bService.watch(t.orchestrationId)) },
    ...watchJobsAttempts,
    {
      name: 'sdk watchJobs initial: false',
      ids: 'unknown',
      run: (t) => observe(bService.watchJobs(t.orchestrationId, { initial: false })),
    },
    sdk('cancel', (t) => bService.cancel(t.orchestrationId)),
    sdk('retryFailed', (t) => bService.retryFailed(t.orchestrationId)),
    sdk('retryFailed jobIds', (t) => bService.retryFailed(t.orchestrationId, { jobIds: [t.jobId] })),
    sdk('discard', (t) => bService.discard(t.orchestrationId)),
    sdk('discard jobIds', (t) => bService.discard(t.orchestrationId, { jobIds: [t.jobId] })),
    sdk(
      'listDeadLetters({ orchestrationId })',
      (t) => bService.listDeadLetters({ orchestrationId: t.orchestrationId }),
      'same',
    ),
    sdk('listOrchestrations', () => bService.listOrchestrations({ limit: 100 }), 'none'),
    sdk('listOrchestrations jobName', () => bService.listOrchestrations({ jobName: 'pay' }), 'none'),
    sdk('getMetrics', () => bService.getMetrics(), 'none'),
    sdk('getMetrics jobName', () => bService.getMetrics({ jobName: 'pay' }), 'none'),
    sdk('listDeadLetters', () => bService.listDeadLetters(), 'none'),
    // A's pipeline (its one stage runs A's payments).
    ...[
      sdk('getPipeline', (t) => bService.getPipeline(t.pipelineId)),
      {
        name: 'sdk watchPipeline',
        ids: 'unknown' as const,
        run: (t: Target) => observe(bService.watchPipeline(t.pipelineId)),
      },
      sdk('cancelPipeline', (t) => bService.cancelPipeline(t.pipelineId)),
      sdk('retryPipeline', (t) => bService.retryPipeline(t.pipelineId)),
      http('dashboard GET /api/pipelines/:id', (t) => `${d}/api/pipelines/${t.pipelineId}`),
      cli((t) => ['pipeline', 'status', t.pipelineId]),
      cli((t) => ['pipeline', 'cancel', t.pipelineId]),
      cli((t) => ['pipeline', 'retry', t.pipelineId]),
    ].map((attempt): Attempt => ({ ...attempt, unknownCode: 'E11_UNKNOWN_PIPELINE' })),
    sdk('listPipelines', () => bService.listPipelines({ limit: 100 }), 'none'),
    http('dashboard GET /api/pipelines', () => `${d}/api/pipelines?limit=100`, {}, 'none'),
    cli(() => ['--json', 'pipeline', 'list'], 'none'),
    // SSE handler served for B.
    http('sse', (t) => `${ctx.sse}/orchestrations/${t.orchestrationId}/events`),
    http('sse Last-Event-ID', (t) => `${ctx.sse}/orchestrations/${t.orchestrationId}/events`, {
      headers: { accept: 'text/event-stream', 'last-event-id': resumeId() },
    }),
    http(
      'sse ?lastEventId',
      (t) => `${ctx.sse}/orchestrations/${t.orchestrationId}/events?lastEventId=${resumeId()}`,
    ),
    // Every dashboard route, the dashboard served for B.
    http('dashboard GET /', () => `${d}/`, {}, 'none'),
    http('dashboard GET /assets/dashboard.js', () => `${d}/assets/dashboard.js`, {}, 'none'),
    http('dashboard GET /assets/dashboard.css', () => `${d}/assets/dashboard.css`, {}, 'none'),
    http('dashboard GET /api/orchestrations', () => `${d}/api/orchestrations?limit=100`, {}, 'none'),
    http(
      'dashboard GET /api/orchestrations?jobName',
      () => `${d}/api/orchestrations?jobName=pay`,
      {},
      'none',
    ),
    http('dashboard GET /api/metrics', () => `${d}/api/metrics`, {}, 'none'),
    http('dashboard GET /api/orchestrations/:id', (t) => `${d}/api/orchestrations/${t.orchestrationId}`),
    http(
      'dashboard GET /api/orchestrations/:id/failures',
      (t) => `${d}/api/orchestrations/${t.orchestrationId}/failures`,
    ),
    http(
      'dashboard POST /api/orchestrations/:id/retry',
      (t) => `${d}/api/orchestrations/${t.orchestrationId}/retry`,
      { method: 'POST', headers: { 'x-e11-dashboard': '1' } },
    ),
    http('dashboard SSE', (t) => `${d}/api/orchestrations/${t.orchestrationId}/events`),
    http('dashboard SSE Last-Event-ID', (t) => `${d}/api/orchestrations/${t.orchestrationId}/events`, {
      headers: { accept: 'text/event-stream', 'last-event-id': resumeId() },
    }),
    http(
      'dashboard DELETE /api/orchestrations/:id',
      (t) => `${d}/api/orchestrations/${t.orchestrationId}`,
      {
        method: 'DELETE',
      },
      'same',
    ),
    http(
      'dashboard GET /api/orchestrations/:id/jobs',
      (t) => `${d}/api/orchestrations/${t.orchestrationId}/jobs`,
      {},
      'same',
    ),
    // The CLI with a service scoped to B.
    cli((t) => ['status', t.orchestrationId]),
    cli((t) => ['--json', 'status', t.orchestrationId]),
    cli((t) => ['watch', t.orchestrationId, '--timeout', '3s']),
    cli((t) => ['--json', 'results', t.orchestrationId, '--timeout', '3s']),
    cli((t) => ['retry', t.orchestrationId]),
    cli((t) => ['cancel', t.orchestrationId]),
    cli((t) => ['dlq', 'list', '--orchestration', t.orchestrationId], 'same'),
    cli((t) => ['dlq', 'retry', t.orchestrationId]),
    cli((t) => ['dlq', 'discard', t.orchestrationId]),
    cli(() => ['--json', 'history'], 'none'),
    cli(() => ['--json', 'metrics'], 'none'),
    cli(() => ['--json', 'dlq', 'list'], 'none'),
  ];
}

/**
 * B names A's schedule: every read and action answers as for a schedule that never existed, and B's own
 * schedule of the same name (names are per tenant) leaves A's untouched.
 */
export function scheduleAttempts(ctx: AttackContext): Attempt[] {
  const schedules = () => ctx.b.schedules;
  const named = (name: string, run: (t: Target) => unknown): Attempt => ({
    name: `schedules ${name}`,
    ids: 'unknown',
    unknownCode: 'E11_UNKNOWN_SCHEDULE',
    run: (t) => answerOf(() => run(t)),
  });
  return [
    named('get', (t) => schedules().get(t.schedule)),
    named('runs', (t) => schedules().runs(t.schedule)),
    named('pause', (t) => schedules().pause(t.schedule)),
    named('resume', (t) => schedules().resume(t.schedule)),
    named('trigger', (t) => schedules().trigger(t.schedule)),
    named('trigger force', (t) => schedules().trigger(t.schedule, { force: true })),
    named('tick scheduleName', (t) => schedules().tick({ scheduleName: t.schedule })),
    named('remove', (t) => schedules().remove(t.schedule)),
    { name: 'schedules list', ids: 'none', run: () => answerOf(() => schedules().list()) },
    {
      // Last: afterwards B has a schedule of this name of its own.
      name: "schedules upsert under A's schedule name",
      ids: 'none',
      namesIds: true,
      check: (answer) => {
        if (answer.code !== null) return `B's upsert was refused: ${answer.outcome.slice(0, 300)}`;
        const { aUntouched } = JSON.parse(answer.bytes) as { aUntouched: boolean };
        return aUntouched ? undefined : "A's schedule changed";
      },
      run: (t) =>
        answerOf(async () => {
          const before = await ctx.root.forTenant(TENANT_A).schedules.get(t.schedule);
          const mine = await schedules().upsert({
            name: t.schedule,
            cron: '0 0 1 1 *',
            jobName: 'pay',
            params: B_PARAMS,
          });
          const after = await ctx.root.forTenant(TENANT_A).schedules.get(t.schedule);
          await schedules().remove(t.schedule);
          const aUntouched =
            after.cron === before.cron && after.updatedAt.getTime() === before.updatedAt.getTime();
          return { mine: { name: mine.name, tenant: mine.tenant, cron: mine.cron }, aUntouched };
        }),
    },
  ];
}

/**
 * Another tenant reuses A's idempotency key: its kick-off must be its own, run, and reveal nothing of
 * A's. Each variant runs as a tenant of its own (B, B2, B3), so it meets only A's use of the key.
 */
export function idempotencyAttempts(ctx: AttackContext): Attempt[] {
  const { root } = ctx;
  const own = (answer: Answer) => {
    if (answer.code !== null) return `the kick-off was refused: ${answer.outcome}`;
    const { kick } = JSON.parse(answer.bytes) as { kick: { deduplicated: boolean } };
    return kick.deduplicated ? 'the kick-off was deduplicated into an orchestration of A' : undefined;
  };
  const reuse = (
    name: string,
    tenant: string,
    params: readonly Record<string, unknown>[],
    jobName: string,
  ): Attempt => ({
    name: `idempotency: A's key, ${name}`,
    ids: 'none',
    check: (answer) => {
      const problem = own(answer);
      if (problem) return problem;
      const { results } = JSON.parse(answer.bytes) as { results: [unknown[], unknown[] | null] };
      const ended = results[0].length + (results[1]?.length ?? 0);
      return ended === params.length ? undefined : `${ended} of its ${params.length} jobs ended`;
    },
    run: () =>
      answerOf(async () => {
        const attacker = root.forTenant(tenant);
        const kick = await kickOffPay(attacker, params, { idempotencyKey: SHARED_KEY }, jobName);
        // Its own work runs (a deduplicated kick-off has nothing of its own to wait for).
        const results = kick.deduplicated
          ? [[], null]
          : await attacker.getJobResults(kick.orchestrationId, { timeoutMs: 20_000 });
        return { kick: { ...kick, launched: undefined }, results };
      }),
  });
  return [
    reuse('same job name and count', TENANT_B, B_PARAMS, 'pay'),
    reuse('another job count', `${TENANT_B}2`, B_PARAMS.slice(0, 1), 'pay'),
    // 'refund' runs on the same image, which has no such class: its job fails, which is B3's business.
    reuse('another job name', `${TENANT_B}3`, B_PARAMS, 'refund'),
  ];
}

/** B widens or changes its scope, or reaches for an unscoped handle. */
export function scopeAttempts(ctx: AttackContext): Attempt[] {
  const { root, b: bService, a } = ctx;
  /** What a service scoped by B's attempt shows of A. */
  const probe = async (service: OrchestrationService) => ({
    orchestration: await answerOf(() => service.getOrchestration(a.orchestrationId)),
    list: await answerOf(() => service.listOrchestrations({ limit: 100 })),
    jobs: await answerOf(() => service.listJobs(a.orchestrationId)),
  });
  const rescope = (name: string, tenant: unknown): Attempt => ({
    name,
    ids: 'none',
    namesIds: true,
    run: () => answerOf(() => probe(bService.forTenant(tenant as string))),
  });
  return [
    rescope("forTenant('a') on B's service", TENANT_A),
    rescope("forTenant(null) on B's service (widen)", null),
    rescope("forTenant(undefined) on B's service (widen)", undefined),
    {
      name: "(bService as any).store: read A's documents through it",
      ids: 'none',
      namesIds: true,
      run: () =>
        answerOf(async () => {
          const store = (bService as unknown as Record<string, unknown>).store as
            | { collections?: { orchestration(id: string): { get(): Promise<{ data(): unknown }> } } }
            | undefined;
          if (!store?.collections) return { store: typeof store };
          const snapshot = await store.collections.orchestration(a.orchestrationId).get();
          return { orchestration: snapshot.data() };
        }),
    },
    {
      name: "(bService as any).store.tenant = null, then read A's orchestration",
      ids: 'none',
      namesIds: true,
      run: () =>
        answerOf(async () => {
          const service = root.forTenant(TENANT_B);
          const store = (service as unknown as Record<string, unknown>).store as
            Record<string, unknown> | undefined;
          let mutation = 'no store';
          if (store) {
            try {
              store.tenant = null;
              mutation = 'assigned';
            } catch (error) {
              mutation = `refused: ${(error as Error).message}`;
            }
          }
          return { mutation, probe: await probe(service) };
        }),
    },
  ];
}

/** The Firestore rules, with the web client SDK signed in as B, on the documents A's run produced. */
export function rulesAttempts(ctx: AttackContext): Attempt[] {
  const { a } = ctx;
  const db = () => ctx.rules.authenticatedContext(TENANT_B, { tenant: TENANT_B }).firestore();
  const orchestration = () => `e11_orchestrations/${a.orchestrationId}`;
  const denied = (answer: Answer) =>
    answer.code === 'permission-denied' ? undefined : `not denied: ${answer.outcome.slice(0, 300)}`;
  const attempt = (name: string, run: () => Promise<unknown>): Attempt => ({
    name: `rules as B: ${name}`,
    ids: 'none',
    namesIds: true,
    check: denied,
    run: async () => {
      const answer = await answerOf(async () => {
        const value = await run();
        const snapshot = value as { data?: () => unknown; docs?: { data(): unknown }[] } | undefined;
        return snapshot?.docs?.map((d) => d.data()) ?? snapshot?.data?.() ?? 'allowed';
      });
      // A denial is a FirebaseError with code 'permission-denied' (not an E11Error).
      const code = /"code":"permission-denied"/.test(answer.bytes) ? 'permission-denied' : answer.code;
      return { ...answer, code };
    },
  });
  return [
    attempt('get the orchestration', () => getDoc(doc(db(), orchestration()))),
    attempt('get a job', () => getDoc(doc(db(), `${orchestration()}/jobs/${a.jobIds[0]}`))),
    attempt('get the params chunk', () => getDoc(doc(db(), `${orchestration()}/params/0`))),
    attempt('list the orchestrations', () => getDocs(collection(db(), 'e11_orchestrations'))),
    attempt('list every jobs collection', () => getDocs(collectionGroup(db(), 'jobs'))),
    attempt('list the counters', () => getDocs(collection(db(), `${orchestration()}/counters`))),
    attempt('list the completions', () => getDocs(collection(db(), `${orchestration()}/completions`))),
    attempt('update a job', () =>
      updateDoc(doc(db(), `${orchestration()}/jobs/${a.jobIds[1]}`), { status: 'Completed' }),
    ),
    attempt('create a job', () => setDoc(doc(db(), `${orchestration()}/jobs/forged`), { status: 'Pending' })),
    attempt('delete the orchestration', () => deleteDoc(doc(db(), orchestration()))),
  ];
}
