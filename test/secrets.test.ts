import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';

import { createDashboardServer, runCli } from '@e11/cli';
import { cloudLoggingOptions, createFirestore, type JobCompletedEvent } from '@e11/core';
import { createPubSub } from '@e11/core/engine';
import { type Stack, startStack } from '@e11/emulators';
import { OrchestrationService, subscribeToJobCompleted } from '@e11/sdk';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { stackService, suiteEmulators, testProjectId } from './helpers/project.js';

/**
 * A full run with params marked sensitive: their values must appear in no captured output — task logs,
 * the SDK's and the functions' logs, the JobCompletedEvent, stored error messages and results as the
 * SDK returns them, the dashboard's pages and API, the CLI.
 */
const ENTRYPOINT = fileURLToPath(new URL('./fixtures/dist/runner-entrypoint.js', import.meta.url));
const projectId = testProjectId('secrets');
const TOPIC = 'secrets-completed';
const SECRET = 'sk-live-51Hx-very-secret-token';
const PASSWORD = 'hunter2-correct-horse';
const firestore = createFirestore({ projectId, emulatorHost: inject('firestoreHost') });
const pubsub = createPubSub({ projectId, emulatorHost: inject('pubsubHost') });
const captured: string[] = [];
const capture = (text: string) => void captured.push(text);
let stack: Stack;
let orchestrations: OrchestrationService;

beforeAll(async () => {
  stack = await startStack({
    projectId,
    attach: suiteEmulators(),
    cloudRun: {
      jobs: {
        'always-fails': {
          command: 'node',
          args: [ENTRYPOINT],
          maxRetries: 0,
          env: { E11_LOG_LEVEL: 'debug' },
        },
        'add-numbers': {
          command: 'node',
          args: [ENTRYPOINT],
          maxRetries: 0,
          env: { E11_LOG_LEVEL: 'debug' },
        },
      },
    },
    cloudRunOptions: { onTaskOutput: (_, chunk) => capture(chunk) },
    functionsEnv: { E11_LOG_LEVEL: 'debug' },
    topics: [TOPIC],
    sweepIntervalMs: 0,
  });
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      capture(chunk.toString('utf8'));
      done();
    },
  });
  orchestrations = stackService(
    stack,
    { projectId, firestore, pubsub, defaultTopic: TOPIC },
    { logger: pino(cloudLoggingOptions({ level: 'debug' }), sink) },
  );
});

afterAll(async () => {
  await orchestrations.close();
  await stack.stop();
  await pubsub.close();
  await firestore.terminate();
});

describe('sensitive params', () => {
  it('never leave the tasks, functions, events, dashboard or CLI', async () => {
    const events: JobCompletedEvent[] = [];
    const done = new Promise<void>((resolve) => {
      void subscribeToJobCompleted(pubsub, { topic: TOPIC }, (event) => {
        events.push(event);
        if (events.length === 2) resolve();
        return Promise.resolve();
      });
    });
    const secretParams = { apiKey: SECRET, account: { password: PASSWORD, name: 'alice' } };
    const failing = await orchestrations.kickOffJob('always_fails', [secretParams], {
      sensitiveKeys: ['apiKey', 'password'],
      tags: { customerId: 'acme' },
    });
    const passing = await orchestrations.kickOffJob('add_numbers', [{ a: 1, b: 2, apiKey: SECRET }], {
      sensitiveKeys: ['apiKey'],
    });
    await done;
    captured.push(JSON.stringify(events));

    // The stored error keeps the message's shape with the value redacted.
    const [, failures] = await orchestrations.getJobResults(failing.orchestrationId);
    expect(failures?.[0]?.error.message).toBe('the upstream rejected key [REDACTED]');
    captured.push(JSON.stringify(failures?.map((f) => f.error)));
    await orchestrations.getJobResults(passing.orchestrationId);

    // The dashboard: page, lists, the orchestration, its failures (params shown redacted).
    const dashboard = await createDashboardServer(orchestrations, { port: 0, authorize: () => true });
    try {
      for (const path of [
        '/',
        '/api/orchestrations',
        `/api/orchestrations/${failing.orchestrationId}`,
        `/api/orchestrations/${failing.orchestrationId}/failures`,
        '/api/metrics',
      ]) {
        const response = await fetch(new URL(path, dashboard.url));
        expect(response.status).toBe(200);
        captured.push(await response.text());
      }
    } finally {
      await dashboard.close();
    }
    const failuresPage = captured.at(-2) ?? '';
    expect(failuresPage).toContain('[REDACTED]');
    expect(failuresPage).toContain('alice');

    // The CLI, as an operator would use it.
    const stream = () =>
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          capture(chunk.toString('utf8'));
          done();
        },
      });
    const io = { stdout: stream(), stderr: stream() };
    // `results` exits 1 for a failed orchestration (its failures still printed); `status` only reports.
    for (const [args, exitCode] of [
      [['results', failing.orchestrationId, '--json'], 1],
      [['dlq', 'list', '--orchestration', failing.orchestrationId], 0],
      [['status', failing.orchestrationId], 0],
    ] as const) {
      const code = await runCli(
        args,
        io,
        () => new OrchestrationService({ projectId, firestore, pubsub, defaultTopic: TOPIC }),
      );
      expect(code, `e11 ${args.join(' ')}`).toBe(exitCode);
    }

    // The function logs each publish once it recorded it, a moment after subscribers got the event.
    await stack.functions.waitForOutput(/Published JobCompletedEvent[\s\S]*Published JobCompletedEvent/);
    captured.push(stack.functions.output());
    const everything = captured.join('\n');
    // Every source was captured: task logs, the functions' logs, the event, the dashboard, the CLI.
    expect(everything).toContain('Attempt 1 started');
    expect(everything).toContain('Published JobCompletedEvent');
    expect(everything).toContain('"type":"JobCompletedEvent"');
    expect(everything).toMatch(/<html/i);
    expect(everything).toContain(failing.orchestrationId);
    expect(everything).not.toContain(SECRET);
    expect(everything).not.toContain(PASSWORD);
    console.log(
      `[secrets] ${everything.length} characters of output grepped: 0 occurrences of either secret`,
    );
  });
});
