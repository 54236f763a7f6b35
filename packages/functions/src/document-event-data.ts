import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { E11Error, ErrorCode } from '@e11/core';
import protobuf from 'protobufjs';

import { decodeTimestamp, type FirestoreValue } from './firestore-value.js';

/** One document snapshot of a Firestore event: its resource name and its raw fields. */
export interface EventDocument {
  /** `projects/{project}/databases/{database}/documents/{path}`. */
  name: string;
  /** Raw Firestore values by field name; decode with `decodeValue` / `decodeFields`. */
  fields: Record<string, FirestoreValue>;
  createTime: Date | null;
  updateTime: Date | null;
}

/** A decoded `google.events.cloud.firestore.v1.DocumentEventData`. */
export interface DocumentEventData {
  /** The document after the write; null for a delete. */
  value: EventDocument | null;
  /** The document before the write; null for a create. */
  oldValue: EventDocument | null;
  /** Changed field paths (updates only). */
  updateMask: string[];
}

const MESSAGE = 'google.events.cloud.firestore.v1.DocumentEventData';

let cachedType: protobuf.Type | undefined;

/**
 * The protobufjs type of `DocumentEventData`, loaded once from `protos/document_event_data.proto`,
 * whose imports (`google/firestore/v1/*.proto` and theirs) resolve to the protos that ship with
 * @google-cloud/firestore.
 */
export function documentEventDataType(): protobuf.Type {
  if (cachedType) return cachedType;
  const here = dirname(fileURLToPath(import.meta.url));
  const ownProto = join(here, '..', 'protos', 'document_event_data.proto');
  const firestoreMain = createRequire(import.meta.url).resolve('@google-cloud/firestore');
  // @google-cloud/firestore: build/src/index.js → build/protos
  const googleProtos = join(dirname(dirname(firestoreMain)), 'protos');
  const root = new protobuf.Root();
  root.resolvePath = (origin, target) =>
    target === ownProto || !target.startsWith('google/')
      ? protobuf.util.path.resolve(origin, target)
      : join(googleProtos, target);
  root.loadSync(ownProto);
  cachedType = root.lookupType(MESSAGE);
  return cachedType;
}

function invalid(message: string, cause?: unknown): E11Error {
  return new E11Error(ErrorCode.InvalidTriggerEvent, message, cause === undefined ? {} : { cause });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function toEventDocument(raw: unknown, path: string): EventDocument | null {
  if (raw === undefined || raw === null) return null;
  if (!isRecord(raw)) throw invalid(`Invalid DocumentEventData at '${path}': expected a Document.`);
  if (typeof raw.name !== 'string' || raw.name === '') {
    throw invalid(`Invalid DocumentEventData at '${path}.name': expected the document's resource name.`);
  }
  const fields = raw.fields ?? {};
  if (!isRecord(fields) || !Object.values(fields).every(isRecord)) {
    throw invalid(`Invalid DocumentEventData at '${path}.fields': expected a map of Firestore values.`);
  }
  return {
    name: raw.name,
    fields: fields as Record<string, FirestoreValue>,
    createTime: raw.createTime === undefined ? null : decodeTimestamp(raw.createTime),
    updateTime: raw.updateTime === undefined ? null : decodeTimestamp(raw.updateTime),
  };
}

function toFieldPaths(raw: unknown): string[] {
  if (raw === undefined || raw === null) return [];
  const paths = isRecord(raw) ? (raw.fieldPaths ?? raw.field_paths ?? []) : undefined;
  if (!Array.isArray(paths) || !paths.every((path) => typeof path === 'string')) {
    throw invalid(`Invalid DocumentEventData at 'updateMask': expected { fieldPaths: string[] }.`);
  }
  return paths;
}

/**
 * The proto3 JSON shape of DocumentEventData (the proto field names `old_value`, `update_mask` and
 * `field_paths` are accepted too, as proto3 JSON parsers do).
 */
function fromJsonShape(raw: unknown): DocumentEventData {
  if (!isRecord(raw)) throw invalid('DocumentEventData must be an object.');
  return {
    value: toEventDocument(raw.value, 'value'),
    oldValue: toEventDocument(raw.oldValue ?? raw.old_value, 'oldValue'),
    updateMask: toFieldPaths(raw.updateMask ?? raw.update_mask),
  };
}

function fromProtobuf(bytes: Uint8Array): DocumentEventData {
  const type = documentEventDataType();
  let message: protobuf.Message;
  try {
    message = type.decode(bytes);
  } catch (error) {
    throw invalid('DocumentEventData is not a valid protobuf message.', error);
  }
  // The proto3 JSON shape, except that Timestamps stay { seconds, nanos }.
  return fromJsonShape(type.toObject(message, { longs: String, enums: String, bytes: String }));
}

/** Base64 text (the Firestore emulator's quirk) rather than raw protobuf bytes? */
function isBase64Text(bytes: Uint8Array): boolean {
  // A raw DocumentEventData starts with a field tag (0x0a, 0x12, 0x1a), never a base64 character
  // (line breaks are allowed inside base64 text, not before it).
  if (bytes.length === 0 || bytes[0] === 0x0a || bytes[0] === 0x0d) return false;
  for (const byte of bytes) {
    const ok =
      (byte >= 0x41 && byte <= 0x5a) || // A-Z
      (byte >= 0x61 && byte <= 0x7a) || // a-z
      (byte >= 0x30 && byte <= 0x39) || // 0-9
      byte === 0x2b || // +
      byte === 0x2f || // /
      byte === 0x3d || // =
      byte === 0x2d || // - (base64url)
      byte === 0x5f || // _ (base64url)
      byte === 0x0a ||
      byte === 0x0d;
    if (!ok) return false;
  }
  return true;
}

/** JSON text? A raw DocumentEventData never starts with '{' (that would be field 15, a group). */
function looksLikeJson(bytes: Uint8Array): boolean {
  for (const byte of bytes) {
    if (byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d) continue;
    return byte === 0x7b;
  }
  return false;
}

function parseJsonText(text: string): DocumentEventData {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw invalid('DocumentEventData is not valid JSON.', error);
  }
  return fromJsonShape(raw);
}

/**
 * Decodes the `data` of a Firestore CloudEvent (`google.cloud.firestore.document.v1.*`) in every
 * encoding it arrives in: raw protobuf bytes (production Eventarc, `application/protobuf`), the same
 * bytes as base64 text (the Firestore emulator's quirk, as a Buffer or a string), or the JSON encoding
 * (an object parsed by the Functions Framework, or JSON text). Throws `E11_INVALID_TRIGGER_EVENT`
 * when the payload is none of these.
 */
export function decodeDocumentEventData(data: unknown, contentType?: string): DocumentEventData {
  if (data === null || data === undefined) throw invalid('The CloudEvent has no data.');
  if (typeof data === 'string') {
    const trimmed = data.trim();
    if (trimmed.startsWith('{') || contentType?.includes('json')) return parseJsonText(trimmed);
    return fromProtobuf(Buffer.from(trimmed, 'base64'));
  }
  if (data instanceof Uint8Array) {
    if (looksLikeJson(data)) return parseJsonText(Buffer.from(data).toString('utf8'));
    if (isBase64Text(data)) return fromProtobuf(Buffer.from(Buffer.from(data).toString('latin1'), 'base64'));
    return fromProtobuf(data);
  }
  return fromJsonShape(data);
}
