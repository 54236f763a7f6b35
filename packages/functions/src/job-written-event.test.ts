import type { CloudEvent } from '@google-cloud/functions-framework';
import { describe, expect, it } from 'vitest';

import { documentEventDataType } from './document-event-data.js';
import { parseFirestoreSource, readJobWrite } from './job-written-event.js';

const DOC = 'e11_orchestrations/o1/jobs/j1';
const NAME = `projects/p1/databases/(default)/documents/${DOC}`;

function payload(
  newStatus: string | null,
  oldStatus: string | null,
  name = NAME,
  limited = false,
  extra: Record<string, unknown> = {},
): Buffer {
  const type = documentEventDataType();
  const doc = (status: string) => ({
    name,
    fields: {
      status: { stringValue: status },
      ...(limited ? { limited: { booleanValue: true } } : {}),
      ...extra,
    },
  });
  const object: Record<string, unknown> = {};
  if (newStatus) object.value = doc(newStatus);
  if (oldStatus) object.oldValue = doc(oldStatus);
  return Buffer.from(type.encode(type.fromObject(object)).finish());
}

/** A CloudEvent as the Functions Framework hands it over in binary mode from the Firestore emulator. */
function event(overrides: Partial<CloudEvent<unknown>> = {}): CloudEvent<unknown> {
  return {
    specversion: '1.0',
    id: 'ce-1',
    type: 'google.cloud.firestore.document.v1.written',
    source: '//firestore.googleapis.com/projects/projects/p1/databases/(default)',
    subject: `documents/${DOC}`,
    datacontenttype: 'application/protobuf',
    project: 'p1',
    database: '(default)',
    document: DOC,
    data: Buffer.from(payload('Completed', 'InProgress').toString('base64')),
    ...overrides,
  };
}

describe('readJobWrite', () => {
  it('reads the project, the job path and the status before and after the write', () => {
    expect(readJobWrite(event())).toEqual({
      kind: 'job',
      eventId: 'ce-1',
      projectId: 'p1',
      database: '(default)',
      path: { prefix: 'e11_', orchestrationId: 'o1', jobId: 'j1' },
      oldStatus: 'InProgress',
      newStatus: 'Completed',
      limited: false,
      sharesBudget: false,
      earlyEnd: false,
      jobName: null,
      traceparent: null,
    });
  });

  it("reads the job's name and the traceparent its attempt stored with its end", () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const data = payload('Completed', 'InProgress', NAME, false, {
      jobName: { stringValue: 'process_batch' },
      traceparent: { stringValue: traceparent },
    });
    expect(readJobWrite(event({ data }))).toMatchObject({
      kind: 'job',
      jobName: 'process_batch',
      traceparent,
    });
  });

  it("tells a maxParallel orchestration's job by its 'limited' field", () => {
    const limited = readJobWrite(event({ data: payload('Completed', 'InProgress', NAME, true) }));
    expect(limited).toMatchObject({
      kind: 'job',
      newStatus: 'Completed',
      limited: true,
      sharesBudget: false,
    });
  });

  it("tells a job holding a slot of the region's in-flight budget by its 'inFlightBudget' field", () => {
    const budget = { inFlightBudget: { stringValue: 'in-flight:p1:europe-west1' } };
    const write = readJobWrite(event({ data: payload('Completed', 'InProgress', NAME, true, budget) }));
    expect(write).toMatchObject({ kind: 'job', limited: true, sharesBudget: true });
  });

  it('takes the project and path from the source and the payload when the extensions are absent', () => {
    const write = readJobWrite(
      event({
        project: undefined,
        document: undefined,
        subject: undefined,
        source: '//firestore.googleapis.com/projects/prod-1/databases/(default)',
        data: payload(
          'Errored',
          null,
          `projects/prod-1/databases/(default)/documents/acme_orchestrations/o9/jobs/j9`,
        ),
      }),
    );
    expect(write).toMatchObject({
      kind: 'job',
      projectId: 'prod-1',
      path: { prefix: 'acme_', orchestrationId: 'o9', jobId: 'j9' },
      oldStatus: null,
      newStatus: 'Errored',
    });
  });

  it('serves the named database it is given, from the database extension or the source', () => {
    const named = `projects/p1/databases/e11-jobs/documents/${DOC}`;
    const fromNamed = {
      source: '//firestore.googleapis.com/projects/projects/p1/databases/e11-jobs',
      database: 'e11-jobs',
      data: payload('Completed', 'InProgress', named),
    };
    expect(readJobWrite(event(fromNamed), 'e11-jobs')).toMatchObject({
      kind: 'job',
      projectId: 'p1',
      database: 'e11-jobs',
      path: { orchestrationId: 'o1', jobId: 'j1' },
    });
    expect(readJobWrite(event({ ...fromNamed, database: undefined }), 'e11-jobs')).toMatchObject({
      kind: 'job',
      database: 'e11-jobs',
    });
    // A function serving the named database ignores the default one's writes, and the other way round.
    expect(readJobWrite(event(), 'e11-jobs')).toMatchObject({
      kind: 'ignored',
      reason: 'other-database',
      details: { projectId: 'p1', database: '(default)' },
    });
    expect(readJobWrite(event(fromNamed))).toMatchObject({ kind: 'ignored', reason: 'other-database' });
  });

  it('reads a delete as a write with no new status', () => {
    expect(readJobWrite(event({ data: payload(null, 'Completed') }))).toMatchObject({
      kind: 'job',
      oldStatus: 'Completed',
      newStatus: null,
    });
  });

  it('ignores another collection, another event type, another database and malformed payloads', () => {
    expect(readJobWrite(event({ subject: 'documents/users/u1', document: 'users/u1' }))).toMatchObject({
      kind: 'ignored',
      reason: 'other-collection',
    });
    expect(readJobWrite(event({ type: 'google.cloud.pubsub.topic.v1.messagePublished' }))).toMatchObject({
      kind: 'ignored',
      reason: 'unsupported-event-type',
    });
    expect(readJobWrite(event({ database: 'other-db' }))).toMatchObject({
      kind: 'ignored',
      reason: 'other-database',
    });
    expect(readJobWrite(event({ data: Buffer.from([0x0a, 0xff, 0xff]) }))).toMatchObject({
      kind: 'ignored',
      reason: 'malformed-event',
      details: { projectId: 'p1', document: DOC },
    });
    expect(readJobWrite(event({ data: { value: { name: NAME, fields: {} } } }))).toMatchObject({
      kind: 'ignored',
      reason: 'malformed-event',
    });
    expect(
      readJobWrite(event({ data: { value: { name: NAME, fields: { status: { stringValue: 'Done' } } } } })),
    ).toMatchObject({ kind: 'ignored', reason: 'malformed-event' });
    expect(readJobWrite(event({ project: undefined, source: 'somewhere' }))).toMatchObject({
      kind: 'ignored',
      reason: 'malformed-event',
    });
  });
});

describe('parseFirestoreSource', () => {
  it('reads production sources and the emulator’s doubled projects/ segment', () => {
    expect(parseFirestoreSource('//firestore.googleapis.com/projects/p1/databases/(default)')).toEqual({
      projectId: 'p1',
      database: '(default)',
    });
    expect(
      parseFirestoreSource('//firestore.googleapis.com/projects/projects/p1/databases/(default)'),
    ).toEqual({ projectId: 'p1', database: '(default)' });
    expect(parseFirestoreSource('//pubsub.googleapis.com/projects/p1/topics/t')).toBeUndefined();
  });
});
