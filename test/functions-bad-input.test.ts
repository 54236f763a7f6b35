import { randomUUID } from 'node:crypto';

import { documentEventDataType } from '@e11/functions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type CompletionHarness, startCompletionHarness } from './helpers/completion.js';

// Input the function cannot use is logged once and acknowledged (2xx, so Eventarc does not redeliver
// it forever) — never a crash, never an event.
let harness: CompletionHarness;
beforeAll(async () => {
  harness = await startCompletionHarness('functions-bad-input');
});
afterAll(() => harness.close());

/** A DocumentEventData as the protobuf bytes production Eventarc sends. */
function documentEvent(projectId: string, path: string, status: string): Buffer {
  const type = documentEventDataType();
  const name = `projects/${projectId}/databases/(default)/documents/${path}`;
  const message = type.fromObject({ value: { name, fields: { status: { stringValue: status } } } });
  return Buffer.from(type.encode(message).finish());
}

/** POSTs a binary-mode CloudEvent to the function, like Eventarc; resolves with the HTTP status. */
async function postEvent(options: {
  id: string;
  type?: string;
  subject: string;
  body: Buffer;
}): Promise<number> {
  const response = await fetch(harness.functions.url, {
    method: 'POST',
    headers: {
      'ce-specversion': '1.0',
      'ce-type': options.type ?? 'google.cloud.firestore.document.v1.written',
      'ce-source': `//firestore.googleapis.com/projects/${harness.projectId}/databases/(default)`,
      'ce-id': options.id,
      'ce-subject': options.subject,
      'content-type': 'application/protobuf',
    },
    body: options.body,
  });
  await response.body?.cancel();
  return response.status;
}

/** The function's log lines that mention `text`, parsed. */
function logLines(text: string): Record<string, unknown>[] {
  return harness.functions
    .output()
    .split('\n')
    .filter((line) => line.includes(text))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('onJobWritten with bad input', () => {
  it('acknowledges an event for another collection with one warning and no event', async () => {
    const id = randomUUID();
    const path = `customers/${randomUUID()}`;
    const status = await postEvent({
      id,
      subject: `documents/${path}`,
      body: documentEvent(harness.projectId, path, 'Completed'),
    });
    expect(status).toBeGreaterThanOrEqual(200);
    expect(status).toBeLessThan(300);
    await harness.functions.waitForOutput(new RegExp(id));
    const lines = logLines(id);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      severity: 'WARNING',
      reason: 'other-collection',
      serviceContext: { service: 'e11-functions' },
    });
  });

  it('acknowledges a malformed payload and an event of another type with one warning each', async () => {
    const malformed = randomUUID();
    const foreign = randomUUID();
    const jobPath = `e11_orchestrations/${randomUUID()}/jobs/${randomUUID()}`;
    const statuses = await Promise.all([
      postEvent({
        id: malformed,
        subject: `documents/${jobPath}`,
        body: Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]),
      }),
      postEvent({
        id: foreign,
        type: 'google.cloud.pubsub.topic.v1.messagePublished',
        subject: `documents/${jobPath}`,
        body: Buffer.from('{}'),
      }),
    ]);
    for (const status of statuses) expect(status).toBeLessThan(300);
    await harness.functions.waitForOutput(new RegExp(malformed));
    await harness.functions.waitForOutput(new RegExp(foreign));
    expect(logLines(malformed)).toEqual([
      expect.objectContaining({ severity: 'WARNING', reason: 'malformed-event' }),
    ]);
    expect(logLines(foreign)).toEqual([
      expect.objectContaining({ severity: 'WARNING', reason: 'unsupported-event-type' }),
    ]);
  });

  it('acknowledges a terminal job document whose orchestration does not exist', async () => {
    const { store, trigger } = harness;
    const ghost = randomUUID();
    const before = await trigger.stats();
    // A real Firestore update through the emulator trigger and the bridge (the trigger fires on updates).
    const job = store.collections.job(ghost, randomUUID());
    await job.set({ status: 'Pending', orchestrationId: ghost });
    await job.update({ status: 'Completed' });
    await harness.functions.waitForOutput(new RegExp(ghost));
    const stats = await trigger.waitForIdle({ minReceived: before.received + 1 });
    expect(stats).toMatchObject({ failed: 0, held: 0 });
    expect(stats.retried).toBe(before.retried);
    expect(stats.responses['500']).toBeUndefined();
    expect(logLines(ghost)).toEqual([
      expect.objectContaining({
        severity: 'WARNING',
        reason: 'unknown-orchestration',
        orchestrationId: ghost,
      }),
    ]);

    // No event came out of any of the bad input in this file.
    const drained = await harness.drainWithSentinel();
    expect(drained).toEqual([]);
  });
});
