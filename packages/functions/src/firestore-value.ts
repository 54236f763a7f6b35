import { E11Error, ErrorCode } from '@e11/core';

/**
 * Firestore `Value` messages (google.firestore.v1.Value) → plain JavaScript: strings, numbers,
 * booleans, null, `Date` (timestamps), `{ latitude, longitude }` (geo points), `Buffer` (bytes),
 * reference paths as strings, arrays and plain objects.
 *
 * Two encodings of the same message arrive here: protobufjs' `toObject()` view of decoded bytes
 * (64-bit integers as strings, enums as names, bytes as base64, timestamps as `{ seconds, nanos }`)
 * and the proto3 JSON mapping (integers as strings, `null` for nullValue, RFC 3339 timestamps,
 * `"NaN"`/`"Infinity"` doubles). Both are accepted, in lowerCamel or snake_case field names.
 */

type Fields = Record<string, unknown>;

/** A raw `google.firestore.v1.Value` message, in protobufjs' object view or the proto3 JSON mapping. */
export type FirestoreValue = Record<string, unknown>;

/** A geo point value. */
export interface GeoPoint {
  latitude: number;
  longitude: number;
}

/** A decoded Firestore value. */
export type PlainValue =
  | null
  | boolean
  | number
  | string
  | Date
  | Buffer
  | GeoPoint
  | PlainValue[]
  | { [field: string]: PlainValue };

function invalid(path: string, message: string): E11Error {
  return new E11Error(ErrorCode.InvalidTriggerEvent, `Invalid Firestore value at '${path}': ${message}`, {
    context: { path },
  });
}

function isRecord(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

/** The first of `names` present on `value` (`undefined` when none is). */
function member(value: Fields, ...names: string[]): { key: string; value: unknown } | undefined {
  for (const name of names) if (Object.hasOwn(value, name)) return { key: name, value: value[name] };
  return undefined;
}

function toNumber(raw: unknown, path: string): number {
  if (typeof raw === 'number') return raw;
  if (typeof raw === 'bigint') return Number(raw);
  if (typeof raw === 'string' && raw.trim() !== '') {
    if (raw === 'NaN') return NaN;
    if (raw === 'Infinity') return Infinity;
    if (raw === '-Infinity') return -Infinity;
    const parsed = Number(raw);
    if (!Number.isNaN(parsed)) return parsed;
  }
  // protobufjs Long without a `longs` conversion option.
  if (isRecord(raw) && typeof raw.low === 'number' && typeof raw.high === 'number') {
    const high = raw.unsigned === true ? raw.high >>> 0 : raw.high;
    return high * 4_294_967_296 + (raw.low >>> 0);
  }
  throw invalid(path, `expected a number, got ${JSON.stringify(raw)}`);
}

/** A `google.protobuf.Timestamp` in either encoding → `Date` (millisecond precision). */
export function decodeTimestamp(raw: unknown, path = ''): Date {
  if (typeof raw === 'string') {
    const match = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(raw);
    const millis = match ? Date.parse(`${match[1] ?? ''}${match[3] ?? ''}`) : NaN;
    if (!match || Number.isNaN(millis)) throw invalid(path, `expected an RFC 3339 timestamp, got '${raw}'`);
    return new Date(
      Math.floor(millis / 1000) * 1000 + Math.floor(Number((match[2] ?? '').padEnd(9, '0')) / 1e6),
    );
  }
  if (isRecord(raw)) {
    const seconds = raw.seconds === undefined ? 0 : toNumber(raw.seconds, `${path}.seconds`);
    const nanos = raw.nanos === undefined ? 0 : toNumber(raw.nanos, `${path}.nanos`);
    const date = new Date(seconds * 1000 + Math.floor(nanos / 1e6));
    if (Number.isNaN(date.getTime())) throw invalid(path, 'timestamp out of range');
    return date;
  }
  throw invalid(path, `expected a timestamp, got ${JSON.stringify(raw)}`);
}

function decodeBytes(raw: unknown, path: string): Buffer {
  if (Buffer.isBuffer(raw)) return raw;
  if (raw instanceof Uint8Array) return Buffer.from(raw);
  if (typeof raw === 'string') return Buffer.from(raw, 'base64');
  throw invalid(path, 'expected bytes');
}

/** Decodes one `Value`; throws `E11_INVALID_TRIGGER_EVENT` naming the path of anything unrecognised. */
export function decodeValue(raw: unknown, path = ''): PlainValue {
  if (!isRecord(raw)) throw invalid(path, `expected a Value message, got ${JSON.stringify(raw)}`);
  const found =
    member(raw, 'nullValue', 'null_value') ??
    member(raw, 'booleanValue', 'boolean_value') ??
    member(raw, 'integerValue', 'integer_value') ??
    member(raw, 'doubleValue', 'double_value') ??
    member(raw, 'timestampValue', 'timestamp_value') ??
    member(raw, 'stringValue', 'string_value') ??
    member(raw, 'bytesValue', 'bytes_value') ??
    member(raw, 'referenceValue', 'reference_value') ??
    member(raw, 'geoPointValue', 'geo_point_value') ??
    member(raw, 'arrayValue', 'array_value') ??
    member(raw, 'mapValue', 'map_value');
  if (!found) throw invalid(path, `unknown value type (${Object.keys(raw).join(', ') || 'empty'})`);
  const { key, value } = found;
  switch (key) {
    case 'nullValue':
    case 'null_value':
      return null;
    case 'booleanValue':
    case 'boolean_value':
      if (typeof value !== 'boolean') throw invalid(path, 'expected a boolean');
      return value;
    case 'integerValue':
    case 'integer_value':
    case 'doubleValue':
    case 'double_value':
      return toNumber(value, path);
    case 'timestampValue':
    case 'timestamp_value':
      return decodeTimestamp(value, path);
    case 'stringValue':
    case 'string_value':
    case 'referenceValue':
    case 'reference_value':
      if (typeof value !== 'string') throw invalid(path, 'expected a string');
      return value;
    case 'bytesValue':
    case 'bytes_value':
      return decodeBytes(value, path);
    case 'geoPointValue':
    case 'geo_point_value': {
      if (!isRecord(value)) throw invalid(path, 'expected a LatLng');
      return {
        latitude: value.latitude === undefined ? 0 : toNumber(value.latitude, `${path}.latitude`),
        longitude: value.longitude === undefined ? 0 : toNumber(value.longitude, `${path}.longitude`),
      };
    }
    case 'arrayValue':
    case 'array_value': {
      if (!isRecord(value)) throw invalid(path, 'expected an ArrayValue');
      const values = value.values ?? [];
      if (!Array.isArray(values)) throw invalid(path, 'expected an array of values');
      return values.map((item, index) => decodeValue(item, `${path}[${index}]`));
    }
    default: {
      if (!isRecord(value)) throw invalid(path, 'expected a MapValue');
      return decodeFields(value.fields, path);
    }
  }
}

/** Decodes a `map<string, Value>` (a document's or a map value's fields) into a plain object. */
export function decodeFields(raw: unknown, path = ''): { [field: string]: PlainValue } {
  if (raw === undefined || raw === null) return {};
  if (!isRecord(raw)) throw invalid(path, 'expected a map of fields');
  const out: { [field: string]: PlainValue } = {};
  for (const [name, value] of Object.entries(raw)) {
    out[name] = decodeValue(value, path === '' ? name : `${path}.${name}`);
  }
  return out;
}
