import { isE11Error } from '@e11/core';
import { describe, expect, it } from 'vitest';

import { decodeDocumentEventData, documentEventDataType } from './document-event-data.js';
import { decodeFields } from './firestore-value.js';

const NAME = 'projects/p1/databases/(default)/documents/e11_orchestrations/o1/jobs/j1';

/** A DocumentEventData as protobuf bytes, encoded with the same protobufjs type the decoder uses. */
function encode(object: Record<string, unknown>): Buffer {
  const type = documentEventDataType();
  const message = type.fromObject(object);
  expect(type.verify(message)).toBeNull();
  return Buffer.from(type.encode(message).finish());
}

const update = {
  value: {
    name: NAME,
    fields: {
      status: { stringValue: 'Completed' },
      attempt: { integerValue: 2 },
      big: { integerValue: '123456789012' },
      zero: { integerValue: 0 },
      ratio: { doubleValue: 0.5 },
      done: { booleanValue: false },
      empty: { stringValue: '' },
      none: { nullValue: 'NULL_VALUE' },
      at: { timestampValue: { seconds: 1_700_000_000, nanos: 123_000_000 } },
      raw: { bytesValue: Buffer.from('hi') },
      where: { geoPointValue: { latitude: 48.1, longitude: 11.5 } },
      parent: { referenceValue: 'projects/p1/databases/(default)/documents/e11_orchestrations/o1' },
      params: {
        mapValue: {
          fields: { list: { arrayValue: { values: [{ integerValue: 1 }, { stringValue: 'x' }] } } },
        },
      },
    },
    createTime: { seconds: 1_700_000_000, nanos: 0 },
    updateTime: { seconds: 1_700_000_001, nanos: 500_000_000 },
  },
  oldValue: { name: NAME, fields: { status: { stringValue: 'InProgress' } } },
  updateMask: { fieldPaths: ['status', 'attempt'] },
};

const expectedFields = {
  status: 'Completed',
  attempt: 2,
  big: 123_456_789_012,
  zero: 0,
  ratio: 0.5,
  done: false,
  empty: '',
  none: null,
  at: new Date(1_700_000_000_123),
  raw: Buffer.from('hi'),
  where: { latitude: 48.1, longitude: 11.5 },
  parent: 'projects/p1/databases/(default)/documents/e11_orchestrations/o1',
  params: { list: [1, 'x'] },
};

/**
 * Captured from the Firestore emulator (a trigger registered on `e11_orchestrations/{o}/jobs/{j}`,
 * then `set({ status: 'Pending', n: 5, big: 12345678901234, t: new Date(), m: { a: [1, 'x'] }, z: null })`):
 * the emulator posts the protobuf as base64 text with `content-type: application/protobuf`.
 */
const EMULATOR_CREATE_BODY =
  'Cs8BCkdwcm9qZWN0cy9wMS9kYXRhYmFzZXMvKGRlZmF1bHQpL2RvY3VtZW50cy9lMTFfb3JjaGVzdHJhdGlvbnMvbzEvam9icy9qMRIUCgZzdGF0dXMSCooBB1BlbmRpbmcSBwoBbhICEAUSDwoDYmlnEggQ8t+4nqfnAhITCgF0Eg5SDAiy1Y/YBhDAj67cAxIaCgFtEhUyEwoRCgFhEgxKCgoCEAEKBIoBAXgSBwoBehICWAAaDAiz1Y/YBhCoqefNASIMCLPVj9gGEKip580BGgA=';

function expectInvalid(run: () => unknown): void {
  let thrown: unknown;
  try {
    run();
  } catch (error) {
    thrown = error;
  }
  expect(isE11Error(thrown, 'E11_INVALID_TRIGGER_EVENT')).toBe(true);
}

describe('decodeDocumentEventData', () => {
  it('decodes raw protobuf bytes, as production Eventarc sends them', () => {
    const data = decodeDocumentEventData(encode(update), 'application/protobuf');
    expect(data.value?.name).toBe(NAME);
    expect(decodeFields(data.value?.fields)).toEqual(expectedFields);
    expect(data.value?.createTime).toEqual(new Date(1_700_000_000_000));
    expect(data.value?.updateTime).toEqual(new Date(1_700_000_001_500));
    expect(decodeFields(data.oldValue?.fields)).toEqual({ status: 'InProgress' });
    expect(data.updateMask).toEqual(['status', 'attempt']);
  });

  it('decodes the same bytes sent as base64 text, in a Buffer or a string (the emulator quirk)', () => {
    const bytes = encode(update);
    const text = bytes.toString('base64');
    for (const data of [
      decodeDocumentEventData(Buffer.from(text), 'application/protobuf'),
      decodeDocumentEventData(text),
    ]) {
      expect(data.value?.name).toBe(NAME);
      expect(decodeFields(data.value?.fields)).toEqual(expectedFields);
      expect(data.updateMask).toEqual(['status', 'attempt']);
    }
  });

  it('decodes a body captured from the Firestore emulator', () => {
    const data = decodeDocumentEventData(Buffer.from(EMULATOR_CREATE_BODY), 'application/protobuf');
    expect(data.oldValue).toBeNull();
    expect(data.value?.name).toBe(NAME);
    const fields = decodeFields(data.value?.fields);
    expect(fields).toMatchObject({
      status: 'Pending',
      n: 5,
      big: 12_345_678_901_234,
      m: { a: [1, 'x'] },
      z: null,
    });
    expect(fields.t).toBeInstanceOf(Date);
  });

  it('decodes the JSON encoding, parsed or as text, with RFC 3339 timestamps and proto field names', () => {
    const json = {
      value: {
        name: NAME,
        fields: {
          status: { stringValue: 'Errored' },
          attempt: { integerValue: '3' },
          at: { timestampValue: '2024-05-01T10:00:00.250Z' },
          none: { nullValue: null },
        },
        createTime: '2024-05-01T09:59:00Z',
      },
      old_value: { name: NAME, fields: { status: { string_value: 'InProgress' } } },
      update_mask: { field_paths: ['status'] },
    };
    for (const data of [
      decodeDocumentEventData(json, 'application/json'),
      decodeDocumentEventData(JSON.stringify(json)),
      decodeDocumentEventData(Buffer.from(JSON.stringify(json))),
    ]) {
      expect(decodeFields(data.value?.fields)).toEqual({
        status: 'Errored',
        attempt: 3,
        at: new Date('2024-05-01T10:00:00.250Z'),
        none: null,
      });
      expect(data.value?.createTime).toEqual(new Date('2024-05-01T09:59:00Z'));
      expect(decodeFields(data.oldValue?.fields)).toEqual({ status: 'InProgress' });
      expect(data.updateMask).toEqual(['status']);
    }
  });

  it('decodes a delete: only the old document', () => {
    const data = decodeDocumentEventData(encode({ oldValue: update.oldValue }));
    expect(data.value).toBeNull();
    expect(data.oldValue?.name).toBe(NAME);
    expect(data.updateMask).toEqual([]);
  });

  it('rejects what is not a DocumentEventData with E11_INVALID_TRIGGER_EVENT', () => {
    expectInvalid(() => decodeDocumentEventData(undefined));
    expectInvalid(() => decodeDocumentEventData(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01])));
    expectInvalid(() => decodeDocumentEventData('{"value": '));
    expectInvalid(() => decodeDocumentEventData({ value: { fields: {} } }));
    expectInvalid(() => decodeDocumentEventData({ value: { name: NAME, fields: { status: 'Completed' } } }));
    expectInvalid(() =>
      decodeFields(
        decodeDocumentEventData({ value: { name: NAME, fields: { a: { what: 1 } } } }).value?.fields,
      ),
    );
  });
});
