import { E11Error, ErrorCode } from './errors.js';

/** A duration: milliseconds as a number, or a string such as `'500ms'`, `'30s'`, `'10m'`, `'2h'`, `'7d'`. */
export type Duration = number | `${number}${'ms' | 's' | 'm' | 'h' | 'd'}`;

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Converts a {@link Duration} (or any string of that form) to milliseconds; throws `E11_INVALID_OPTIONS` naming `field` when malformed or negative. */
export function toMs(value: number | string, field: string): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) {
      throw new E11Error(
        ErrorCode.InvalidOptions,
        `${field} must be a non-negative number of milliseconds, got ${value}.`,
        {
          context: { path: field },
        },
      );
    }
    return value;
  }
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(value);
  if (!match) {
    throw new E11Error(
      ErrorCode.InvalidOptions,
      `${field} must be a duration like '500ms', '30s', '10m', '2h' or a number of milliseconds, got '${value}'.`,
      { context: { path: field } },
    );
  }
  return Math.round(Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS]);
}
