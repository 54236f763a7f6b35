import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { createDashboardServer, type DashboardServer } from '@e11/cli';
import { createStore, isE11Error, recordProgress, saveCheckpoint } from '@e11/core';
import { createSseHandler } from '@e11/sdk';
import { activeListenerCount, formatEventId } from '@e11/sdk/testing';
import { Timestamp } from '@google-cloud/firestore';
import type { Observable } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  claim,
  ensureTopic,
  monitoringService,
  Recorder,
  runToCompletion,
  runToFailure,
} from './helpers/monitoring.js';
import { emulatorClients, testProjectId } from './helpers/project.js';

/**
 * Tenant B watches tenant A's orchestration by its id (guessed or leaked): through `watch`,
 * `watchJobs`, an SSE stream (fresh and resumed) and every dashboard route. Each attempt must answer
 * exactly what an id that does not exist answers, and nothing of A's may reach B before that answer.
 */

const projectId = testProjectId('tenant-watch');
const { firestore, pubsub } = emulatorClients(projectId);
const collectionPrefix = 'tw_';
const service = monitoringService(firestore, pubsub, collectionPrefix);
const tenantA = service.forTenant('a');
const tenantB = service.forTenant('b');
// A task's view of the data (unscoped), to move A's jobs through their states.
const store = createStore({ firestore, collectionPrefix });

const marker = randomUUID().slice(0, 8);
/** Texts only A's orchestration holds; none may appear in anything B receives. */
const SECRETS = {
  jobName: `a_export_${marker}`,
  param: `a-param-${marker}`,
  result: `a-result-${marker}`,
  error: `a-error-${marker}`,
  progress: `a-progress-${marker}`,
  checkpoint: `a-checkpoint-${marker}`,
  tag: `a-tag-${marker}`,
};
const JOBS = 12;

let idA: string;
let kickedOffAt: number;
let sseServer: Server;
let sseUrl: string;
let dashboard: DashboardServer;

/** The secrets found in `text`. */
function leaks(text: string): string[] {
  return Object.values(SECRETS).filter((secret) => text.includes(secret));
}

/** `text` with the orchestration id asked for replaced, so two answers can be compared. */
function normalized(text: string, id: string): string {
  return text.replaceAll(id, '<id>');
}

interface WatchAttempt {
  values: unknown[];
  error: unknown;
  /** Monitoring listeners attached right after subscribing, and when the answer (the error) came. */
  listenersAtSubscribe: number;
  listenersAtAnswer: number | undefined;
}

/** Subscribes, records what arrives until the stream ends, and how many listeners were attached. */
async function attempt(observable: Observable<unknown>): Promise<WatchAttempt> {
  const before = activeListenerCount();
  const result: WatchAttempt = {
    values: [],
    error: undefined,
    listenersAtSubscribe: 0,
    listenersAtAnswer: undefined,
  };
  await new Promise<void>((resolve) => {
    const subscription = observable.subscribe({
      next: (value) => result.values.push(value),
      error: (error: unknown) => {
        result.error = error;
        result.listenersAtAnswer = activeListenerCount() - before;
        resolve();
      },
      complete: () => resolve(),
    });
    result.listenersAtSubscribe = activeListenerCount() - before;
    subscription.add(() => resolve());
  });
  return result;
}

/** What an error tells its receiver, with the id asked for normalized away. */
function answerOf(error: unknown, id: string): string {
  if (!isE11Error(error)) return `not an E11Error: ${String(error)}`;
  return normalized(
    JSON.stringify({
      name: error.name,
      code: error.code,
      message: error.message,
      retryable: error.retryable,
      context: error.context,
    }),
    id,
  );
}

beforeAll(async () => {
  await ensureTopic(pubsub);
  kickedOffAt = Date.now();
  const params = Array.from({ length: JOBS }, (_, i) => ({ table: `${SECRETS.param}-${i}` }));
  const kickOff = await tenantA.kickOffJob(SECRETS.jobName, params, { tags: { customer: SECRETS.tag } });
  idA = kickOff.orchestrationId;
  const jobIds = kickOff.jobIds;
  // Every job of A gets a document with something to leak: results, an error, progress, a checkpoint.
  for (const jobId of jobIds.slice(0, 8)) {
    await runToCompletion(store, idA, jobId, { rows: SECRETS.result });
  }
  await runToFailure(store, idA, jobIds[8] as string, SECRETS.error);
  for (const jobId of jobIds.slice(9)) {
    const claimId = await claim(store, idA, jobId);
    const running = { orchestrationId: idA, jobId, claimId };
    expect(await recordProgress(store, running, 0.5, SECRETS.progress)).toBe('recorded');
    expect(await saveCheckpoint(store, running, { cursor: SECRETS.checkpoint })).toBe('recorded');
  }
  // A sees its own jobs: the data B must never receive is there to be leaked.
  const own = await tenantA.listJobs(idA);
  expect(leaks(JSON.stringify(own)).sort()).toEqual(
    [
      SECRETS.jobName,
      SECRETS.param,
      SECRETS.result,
      SECRETS.error,
      SECRETS.progress,
      SECRETS.checkpoint,
    ].sort(),
  );

  sseServer = createServer(createSseHandler(tenantB, { authorize: () => true }));
  await new Promise<void>((resolve) => sseServer.listen(0, '127.0.0.1', resolve));
  sseUrl = `http://127.0.0.1:${(sseServer.address() as AddressInfo).port}`;
  dashboard = await createDashboardServer(tenantB, { port: 0 });
});

afterAll(async () => {
  await new Promise((resolve) => (sseServer ? sseServer.close(resolve) : resolve(undefined)));
  await dashboard?.close();
  await service.close();
  await pubsub.close();
  await firestore.terminate();
});

/** A Last-Event-ID from before A's kick-off and inside the resume window: a resumed stream would replay every job. */
function resumeId(): string {
  return formatEventId(Timestamp.fromMillis(kickedOffAt - 1_000), 1);
}

describe("tenant B watching tenant A's orchestration", () => {
  // The jobs listener and the tenant check race when both start together; enough rounds make a leak
  // on a listener attached before the check all but certain, and one listener attached at all fails.
  const ROUNDS = 15;

  it.each([
    ['watchJobs', (id: string) => tenantB.watchJobs(id)],
    ['watchJobs (changes only)', (id: string) => tenantB.watchJobs(id, { initial: false })],
    ['watch', (id: string) => tenantB.watch(id)],
  ])(
    'gets from %s exactly what an unknown id gets, with no listener attached and nothing emitted',
    async (name, open) => {
      let leaked = 0;
      const listening: { subscribe: number; answer: number | undefined }[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const unknownId = randomUUID();
        const unknown = await attempt(open(unknownId));
        const foreign = await attempt(open(idA));
        if (foreign.values.length > 0 || leaks(JSON.stringify(foreign.values)).length > 0) leaked++;
        expect(unknown.values).toEqual([]);
        expect(answerOf(unknown.error, unknownId)).toContain('E11_UNKNOWN_ORCHESTRATION');
        expect(answerOf(foreign.error, idA)).toBe(answerOf(unknown.error, unknownId));
        listening.push({ subscribe: foreign.listenersAtSubscribe, answer: foreign.listenersAtAnswer });
      }
      console.log(`isolation: ${name}: attempts ${ROUNDS}, leaks ${leaked}`);
      expect({ leaked, rounds: ROUNDS }).toEqual({ leaked: 0, rounds: ROUNDS });
      // Checked before listening: no listener was open when B got its answer, nor right after subscribing.
      expect(listening).toEqual(Array.from({ length: ROUNDS }, () => ({ subscribe: 0, answer: 0 })));
      expect(activeListenerCount()).toBe(0);
    },
  );

  it('gets from the SSE handler, fresh or resumed, exactly the 404 an unknown id gets', async () => {
    const unknownId = randomUUID();
    const variants: [string, (id: string) => [string, RequestInit]][] = [
      ['fresh', (id) => [`${sseUrl}/orchestrations/${id}/events`, {}]],
      [
        'Last-Event-ID',
        (id) => [`${sseUrl}/orchestrations/${id}/events`, { headers: { 'last-event-id': resumeId() } }],
      ],
      ['lastEventId query', (id) => [`${sseUrl}/orchestrations/${id}/events?lastEventId=${resumeId()}`, {}]],
    ];
    for (const [name, request] of variants) {
      const foreign = await fetchAll(...request(idA));
      const unknown = await fetchAll(...request(unknownId));
      expect({ name, leaks: leaks(foreign.text) }).toEqual({ name, leaks: [] });
      expect({ name, status: foreign.status }).toEqual({ name, status: 404 });
      expect(normalized(foreign.text, idA)).toBe(normalized(unknown.text, unknownId));
      expect(foreign.type).toBe(unknown.type);
    }
  });

  it('gets from every dashboard route exactly what an unknown id gets, and no byte of A in lists or metrics', async () => {
    const unknownId = randomUUID();
    const base = dashboard.url.replace(/\/$/, '');
    const routes: [string, (id: string) => [string, RequestInit]][] = [
      ['orchestration', (id) => [`${base}/api/orchestrations/${id}`, {}]],
      ['failures', (id) => [`${base}/api/orchestrations/${id}/failures`, {}]],
      ['events', (id) => [`${base}/api/orchestrations/${id}/events`, {}]],
      [
        'events resumed',
        (id) => [`${base}/api/orchestrations/${id}/events`, { headers: { 'last-event-id': resumeId() } }],
      ],
      [
        'retry',
        (id) => [
          `${base}/api/orchestrations/${id}/retry`,
          { method: 'POST', headers: { 'x-e11-dashboard': '1' } },
        ],
      ],
    ];
    for (const [name, request] of routes) {
      const foreign = await fetchAll(...request(idA));
      const unknown = await fetchAll(...request(unknownId));
      expect({ name, leaks: leaks(foreign.text) }).toEqual({ name, leaks: [] });
      expect({ name, status: foreign.status }).toEqual({ name, status: 404 });
      expect(normalized(foreign.text, idA)).toBe(normalized(unknown.text, unknownId));
    }
    for (const path of ['/api/orchestrations', '/api/metrics']) {
      const listed = await fetchAll(`${base}${path}`, {});
      expect(listed.status).toBe(200);
      expect({ path, leaks: leaks(listed.text), id: listed.text.includes(idA) }).toEqual({
        path,
        leaks: [],
        id: false,
      });
    }
    // A's data is untouched by B's retry attempt, and A's own dashboard shows what B was refused.
    expect((await tenantA.getOrchestration(idA)).epoch).toBe(1);
    const own = await createDashboardServer(tenantA, { port: 0 });
    try {
      const failures = await fetchAll(`${own.url}api/orchestrations/${idA}/failures`, {});
      expect({ status: failures.status, leaks: leaks(failures.text) }).toEqual({
        status: 200,
        leaks: [SECRETS.param, SECRETS.error],
      });
    } finally {
      await own.close();
    }
  });

  it.each([
    ['watchJobs', (id: string) => tenantB.watchJobs(id)],
    ['watch', (id: string) => tenantB.watch(id)],
  ])(
    "stops B's %s of its own orchestration, as for an unknown id, once the document is another tenant's",
    async (_name, open) => {
      const { orchestrationId } = await tenantB.kickOffJob('b_export', [{ table: 'b' }]);
      const watching = new Recorder<unknown>(open(orchestrationId));
      await watching.waitFor(() => true);
      // Every document snapshot is checked, not only the first: rewritten from outside as A's.
      await store.collections.orchestration(orchestrationId).update({ tenant: 'a' });
      await watching.done;
      const unknownId = randomUUID();
      const unknown = await attempt(open(unknownId));
      expect(answerOf(watching.error, orchestrationId)).toBe(answerOf(unknown.error, unknownId));
      expect(activeListenerCount()).toBe(0);
    },
  );
});

/** Every byte of a response; one that stays open is cut after 2 s (a refusal ends at once). */
async function fetchAll(
  url: string,
  init: RequestInit,
): Promise<{ status: number; type: string | null; text: string }> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 2_000);
  const decoder = new TextDecoder();
  let text = '';
  try {
    const response = await fetch(url, { ...init, signal: controller.signal });
    try {
      for await (const chunk of response.body ?? [])
        text += decoder.decode(chunk as Uint8Array, { stream: true });
    } catch (error) {
      if ((error as Error).name !== 'AbortError') throw error;
      text += '<cut: the response stayed open>';
    }
    return { status: response.status, type: response.headers.get('content-type'), text };
  } finally {
    clearTimeout(timer);
  }
}
