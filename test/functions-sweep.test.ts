import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { createLogger } from '@e11/core';
import { createSweepHandler, type SweepHandler } from '@e11/functions';
import { OrchestrationService } from '@e11/sdk';
import * as functions from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { CompletedEvents } from './helpers/completed-events.js';
import { emulatorClients, testProjectId } from './helpers/project.js';
import { RecordingLauncher } from './helpers/recording-launcher.js';

/**
 * The deployed `sweep` function with nothing injected: it builds its engine from the environment
 * (the way Cloud Run functions configures it) on the first request, from @e11/core alone.
 */
const projectId = testProjectId('functions-sweep');
const TOPIC = 'functions-sweep-completed';
const { firestore, pubsub } = emulatorClients(projectId);
const completed = new CompletedEvents();
let handler: SweepHandler;
let server: Server;
let url: string;

beforeAll(async () => {
  // What the function's deployment sets; nothing else configures its engine.
  Object.assign(process.env, {
    GOOGLE_CLOUD_PROJECT: projectId,
    FIRESTORE_EMULATOR_HOST: inject('firestoreHost'),
    PUBSUB_EMULATOR_HOST: inject('pubsubHost'),
    // Never contacted: the sweep below launches nothing.
    E11_CLOUD_RUN_EMULATOR_HOST: '127.0.0.1:1',
  });
  await pubsub.createTopic(TOPIC);
  await completed.subscribe(pubsub, TOPIC);
  handler = createSweepHandler({ logger: createLogger('sweep-test', { level: 'silent' }) });
  functions.http('sweep', handler);
  server = getTestServer('sweep');
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

afterAll(async () => {
  await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  await handler.close();
  await completed.close();
  await pubsub.close();
  await firestore.terminate();
});

describe('the sweep function', () => {
  it('cancels an orchestration past its deadline with its own engine and publishes the end once', async () => {
    const service = new OrchestrationService({
      projectId,
      firestore,
      pubsub,
      launcher: new RecordingLauncher(),
    });
    let orchestrationId: string;
    try {
      // Registered, never launched (the caller gave up at once), and due: its deadline is 1 ms.
      ({ orchestrationId } = await service.kickOffJob('slow_job', [{ n: 1 }, { n: 2 }], {
        topic: TOPIC,
        orchestrationTimeout: 1,
        signal: AbortSignal.abort(),
      }));
    } finally {
      await service.close();
    }

    const response = await fetch(url, { method: 'POST' });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ timedOut: 1 });
    expect(await completed.eventFor(orchestrationId)).toMatchObject({
      status: 'Cancelled',
      total: 2,
      orchestrationId,
    });
    const again = await fetch(url, { method: 'POST' });
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ timedOut: 0 });
    expect(completed.of(orchestrationId)).toHaveLength(1);
  });

  it('answers 405 to anything but POST', async () => {
    const response = await fetch(url, { method: 'GET' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
  });
});
