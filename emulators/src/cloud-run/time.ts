/** Conversions between milliseconds, duration strings and the protobuf Timestamp/Duration shapes. */

/** A `google.protobuf.Timestamp` or `google.protobuf.Duration` as proto-loader reads and writes it. */
export interface ProtoSecondsNanos {
  /** int64, decoded as a string (proto-loader `longs: String`), accepted as a number when encoding. */
  seconds: string | number;
  nanos: number;
}

const DURATION_PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `"600s"`, `"10m"`, `"1.5h"`, `"250ms"` or `"1d"` to milliseconds; undefined if malformed. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION_PATTERN.exec(text.trim());
  if (!match) return undefined;
  const [, amount, unit] = match;
  if (amount === undefined || unit === undefined) return undefined;
  const factor = UNIT_MS[unit];
  return factor === undefined ? undefined : Math.round(Number(amount) * factor);
}

/** Milliseconds since the epoch → Timestamp. */
export function toTimestamp(ms: number): ProtoSecondsNanos {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

/** Milliseconds → Duration. */
export function toDuration(ms: number): ProtoSecondsNanos {
  return toTimestamp(ms);
}

/** Duration or Timestamp → milliseconds. */
export function fromSecondsNanos(value: ProtoSecondsNanos): number {
  return Number(value.seconds) * 1000 + value.nanos / 1e6;
}

/** Milliseconds → `"12.3s"`, the way Cloud Run words durations in its messages. */
export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}
