import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { parseJobCompletedEvent, type JobCompletedEvent } from '@e11/core';
import { type Stack, startStack } from '@e11/emulators';
import { type CollectedSpan, readTraces, registerTraceCollector } from '@e11/emulators/telemetry';
import type { OrchestrationService } from '@e11/sdk';
import type { Message, Subscription } from '@google-cloud/pubsub';
import { context, propagation, trace as otelTrace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { TracedWorkParams } from './fixtures/src/traced-jobs.js';
import { emulatorClients, stackService, suiteEmulators, testProjectId } from './helpers/project.js';

/**
 * One trace per orchestration across every process of the local stack: the backend (this test
 * process, with the collector registered), the tasks and the functions (started by the stack with the
 * collector preloaded), down to the JobCompletedEvent's `traceparent` attribute as a real Pub/Sub
 * subscription receives it.
 */
const ENTRYPOINT = fileURLToPath(new URL('./fixtures/dist/traced-entrypoint.js', import.meta.url));
const projectId = testProjectId('tracing');
const TOPIC = 'tracing-completed';
const traceDir = mkdtempSync(join(tmpdir(), 'e11-traces-'));
const clients = emulatorClients(projectId);
let stack: Stack;
let service: OrchestrationService;
let subscription: Subscription;
/** Every received message, by orchestration id. */
const received = new Map<string, { message: Message; event: JobCompletedEvent }>();
const arrivals = new Set<() => void>();

beforeAll(async () => {
  stack = await startStack({
    projectId,
    attach: suiteEmulators(),
    cloudRun: { jobs: { 'traced-work': { command: 'node', args: [ENTRYPOINT], maxRetries: 0 } } },
    cloudRunOptions: { maxConcurrentTasks: 4 },
    topics: [TOPIC],
    sweepIntervalMs: 0,
    schedulerIntervalMs: 0,
    traceDir,
  });
  service = stackService(stack, { projectId, ...clients, defaultTopic: TOPIC });
  [subscription] = await clients.pubsub.topic(TOPIC).createSubscription(`${TOPIC}-raw`);
  subscription.on('message', (message: Message) => {
    const event = parseJobCompletedEvent(message.data);
    received.set(event.orchestrationId, { message, event });
    message.ack();
    for (const arrival of arrivals) arrival();
  });
});

afterAll(async () => {
  await subscription?.close();
  await service?.close();
  await stack?.stop();
  await clients.pubsub.close();
  await clients.firestore.terminate();
  rmSync(traceDir, { recursive: true, force: true });
});

/** The message of `orchestrationId` as the subscription received it, once it arrives. */
function messageFor(orchestrationId: string): Promise<{ message: Message; event: JobCompletedEvent }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no event for ${orchestrationId} within 60 s`)), 60_000);
    const check = () => {
      const got = received.get(orchestrationId);
      if (!got) return;
      arrivals.delete(check);
      clearTimeout(timer);
      resolve(got);
    };
    arrivals.add(check);
    check();
  });
}

/**
 * The collected spans once `ready` accepts them (every process writes a span when it ends it, so the
 * files grow until the last one ended); fails after 30 s with what was there.
 */
async function spansWhen(ready: (spans: CollectedSpan[]) => boolean): Promise<CollectedSpan[]> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const spans = await readTraces(traceDir);
    if (ready(spans)) return spans;
    if (Date.now() > deadline) {
      throw new Error(`spans never complete: ${spans.map((span) => span.name).join(', ')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const ofOrchestration = (spans: CollectedSpan[], orchestrationId: string) =>
  spans.filter((span) => span.attributes['e11.orchestration.id'] === orchestrationId);

describe('without an OpenTelemetry SDK in the backend', () => {
  it('kicks off and runs as usual, storing no traceparent: the tasks get no TRACEPARENT', async () => {
    const { orchestrationId } = await service.kickOffJob('traced_work', [
      { n: 1 },
    ] satisfies TracedWorkParams[]);
    const { event, message } = await messageFor(orchestrationId);
    expect(event).toMatchObject({ status: 'Completed', succeeded: 1 });
    // No SDK at kick-off: nothing to continue, so no trace id on the event or the orchestration.
    expect(event.traceId).toBeUndefined();
    expect(
      (await clients.firestore.doc(`e11_orchestrations/${orchestrationId}`).get()).get('traceparent'),
    ).toBeNull();
    expect((await service.getOrchestration(orchestrationId)).traceId).toBeNull();
    // The task has an SDK (the stack preloads it) but no TRACEPARENT: its attempt span starts a trace.
    const spans = await spansWhen((all) =>
      ofOrchestration(all, orchestrationId).some((span) => span.name === 'e11.attempt traced_work'),
    );
    const attempt = ofOrchestration(spans, orchestrationId).find(
      (span) => span.name === 'e11.attempt traced_work',
    );
    expect(attempt?.parentSpanId).toBeNull();
    // The publish in the functions process (which has an SDK) still names its own span.
    expect(message.attributes.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  });
});

describe('with the collector in every process', () => {
  beforeAll(() => {
    registerTraceCollector({ dir: traceDir, service: 'backend' });
  });

  it('makes one trace from kickOffJob through the tasks and the function to the event', async () => {
    const params: TracedWorkParams[] = [{ n: 1 }, { n: 2, failOnce: true }, { n: 3 }];
    const { orchestrationId, jobIds } = await service.kickOffJob('traced_work', params);
    const { event, message } = await messageFor(orchestrationId);
    expect(event).toMatchObject({ status: 'Completed', succeeded: 3 });

    const info = await service.getOrchestration(orchestrationId);
    const traceId = info.traceId as string;
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    const spans = await spansWhen((all) => {
      const mine = all.filter((span) => span.traceId === traceId);
      return (
        mine.some((span) => span.kind === 'producer') &&
        mine.filter((span) => span.name === 'e11.attempt traced_work').length === 4 &&
        mine.filter((span) => span.name === 'user.work').length === 4 &&
        new Set(
          mine
            .filter((span) => span.name === 'onJobWritten traced_work')
            .map((span) => span.attributes['e11.job.id']),
        ).size === 3
      );
    });
    // Every span E11 made for this orchestration, in every process, is in the kick-off's trace.
    expect(ofOrchestration(spans, orchestrationId).every((span) => span.traceId === traceId)).toBe(true);
    const trace = spans.filter((span) => span.traceId === traceId);
    const named = (name: string) => trace.filter((span) => span.name === name);
    const byId = new Map(trace.map((span) => [span.spanId, span]));

    // The root: kickOffJob in the backend, its traceparent stored on the orchestration.
    const [root, ...otherRoots] = trace.filter((span) => span.parentSpanId === null);
    expect(otherRoots).toEqual([]);
    expect(root).toMatchObject({ name: 'kickOffJob traced_work', service: 'backend' });
    expect(
      (await clients.firestore.doc(`e11_orchestrations/${orchestrationId}`).get()).get('traceparent'),
    ).toBe(`00-${traceId}-${root?.spanId}-01`);
    expect(named('e11.register traced_work').map((span) => span.parentSpanId)).toEqual([root?.spanId]);

    // One launch span per job (per-job mode), children of the kick-off, each naming its execution.
    const launches = named('e11.launch traced-work');
    expect(launches).toHaveLength(3);
    for (const launch of launches) {
      expect(launch).toMatchObject({ parentSpanId: root?.spanId, kind: 'client', service: 'backend' });
      expect(launch.attributes['e11.execution.name']).toMatch(/\/executions\/traced-work-/);
    }

    // Attempts run in the tasks, each a child of the launch that started its task; user spans inside.
    const attempts = named('e11.attempt traced_work');
    for (const attempt of attempts) {
      const launch = byId.get(attempt.parentSpanId ?? '');
      expect(launch?.name).toBe('e11.launch traced-work');
      expect(launch?.attributes['e11.job.id']).toBe(attempt.attributes['e11.job.id']);
      expect(attempt).toMatchObject({ kind: 'consumer', service: 'e11-task' });
      expect(attempt.attributes).toMatchObject({
        'e11.orchestration.id': orchestrationId,
        'e11.job.name': 'traced_work',
        'cloud.platform': 'gcp_cloud_run',
      });
    }
    for (const user of named('user.work')) {
      expect(byId.get(user.parentSpanId ?? '')?.name).toBe('e11.attempt traced_work');
      expect(user.scope).toBe('fixture-user-code');
    }
    // The job that failed once: attempt 1 is ERROR with the exception, attempt 2 completed.
    const flaky = attempts
      .filter((span) => span.attributes['e11.job.id'] === jobIds[1])
      .sort((a, b) => Number(a.attributes['e11.attempt']) - Number(b.attributes['e11.attempt']));
    expect(flaky.map((span) => span.status.code)).toEqual(['error', 'unset']);
    expect(flaky[0]?.events.map((e) => e.name)).toContain('exception');
    expect(flaky[1]?.attributes['e11.status']).toBe('Completed');

    // A line the job logs inside its own span carries that span's trace and span id, in the fields
    // Cloud Logging links to Cloud Trace (the task's stdout, as the Cloud Run emulator captured it).
    for (const jobId of jobIds) {
      const { executionName } = await service.getJob(orchestrationId, jobId);
      await stack.cloudRun.waitForExecution(executionName ?? '', { timeoutMs: 30_000 });
      const logged = stack.cloudRun
        .taskOutput(executionName ?? '', 0)
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter((line) => line.message === 'traced work');
      const userSpans = named('user.work').filter(
        (user) => byId.get(user.parentSpanId ?? '')?.attributes['e11.job.id'] === jobId,
      );
      expect(logged).toHaveLength(userSpans.length);
      expect(logged.map((line) => line['logging.googleapis.com/spanId']).sort()).toEqual(
        userSpans.map((user) => user.spanId).sort(),
      );
      for (const line of logged) {
        expect(line['logging.googleapis.com/trace']).toBe(`projects/${projectId}/traces/${traceId}`);
        expect(line['logging.googleapis.com/trace_sampled']).toBe(true);
      }
    }

    // Each job's document stores the traceparent of the attempt span that ended it.
    for (const jobId of jobIds) {
      const last = attempts
        .filter((span) => span.attributes['e11.job.id'] === jobId)
        .sort((a, b) => Number(b.attributes['e11.attempt']) - Number(a.attributes['e11.attempt']))[0];
      const doc = await clients.firestore.doc(`e11_orchestrations/${orchestrationId}/jobs/${jobId}`).get();
      expect(doc.get('traceparent')).toBe(`00-${traceId}-${last?.spanId}-01`);
    }

    // The function's span per job end: a child of the kick-off, linked to the attempt that ended the job.
    const functionSpans = named('onJobWritten traced_work');
    for (const span of functionSpans) {
      expect(span).toMatchObject({ parentSpanId: root?.spanId, service: 'e11-functions' });
      const linked = span.links.map((link) => byId.get(link.spanId));
      expect(linked.map((attempt) => attempt?.name)).toEqual(['e11.attempt traced_work']);
      expect(linked[0]?.attributes['e11.job.id']).toBe(span.attributes['e11.job.id']);
    }

    // The publish: a producer span under a function span, whose traceparent the message carries.
    const [publish, ...otherPublishes] = trace.filter((span) => span.kind === 'producer');
    expect(otherPublishes).toEqual([]);
    expect(publish?.name).toBe(`publish ${TOPIC}`);
    expect(byId.get(publish?.parentSpanId ?? '')?.name).toBe('onJobWritten traced_work');
    expect(publish?.attributes).toMatchObject({
      'messaging.system': 'gcp_pubsub',
      'messaging.destination.name': TOPIC,
      'messaging.operation.type': 'send',
      'messaging.message.id': message.id,
    });
    expect(message.attributes.traceparent).toBe(`00-${traceId}-${publish?.spanId}-01`);
    expect(event.traceId).toBe(traceId);
    // A consumer with the W3C propagator continues the trace from the message's attributes.
    const continued = otelTrace.getSpanContext(propagation.extract(context.active(), message.attributes));
    expect(continued).toMatchObject({ traceId, spanId: publish?.spanId, isRemote: true });
  });

  it("puts the launches the completion function makes (maxParallel admissions) under that function's span", async () => {
    const { orchestrationId } = await service.kickOffJob('traced_work', [{ n: 1 }, { n: 2 }], {
      maxParallel: 1,
    });
    const { event } = await messageFor(orchestrationId);
    expect(event).toMatchObject({ status: 'Completed', succeeded: 2 });
    const traceId = event.traceId as string;
    const spans = await spansWhen((all) => {
      const mine = all.filter((span) => span.traceId === traceId);
      return (
        mine.filter((span) => span.name === 'e11.attempt traced_work').length === 2 &&
        mine.some((span) => span.kind === 'producer')
      );
    });
    const trace = spans.filter((span) => span.traceId === traceId);
    const byId = new Map(trace.map((span) => [span.spanId, span]));
    const launches = trace.filter((span) => span.name === 'e11.launch traced-work');
    // The first job launched by the kick-off, the second by the function when the first ended.
    expect(launches.map((span) => byId.get(span.parentSpanId ?? '')?.name).sort()).toEqual([
      'kickOffJob traced_work',
      'onJobWritten traced_work',
    ]);
    const admitted = launches.find(
      (span) => byId.get(span.parentSpanId ?? '')?.name === 'onJobWritten traced_work',
    );
    expect(admitted?.service).toBe('e11-functions');
    expect(
      trace
        .filter((span) => span.name === 'e11.attempt traced_work')
        .map((span) => span.parentSpanId)
        .sort(),
    ).toEqual(launches.map((span) => span.spanId).sort());
  });
});
