import { type Duration, toMs, E11Error, ErrorCode } from '@e11/core';

/** Parsers for command-line values; each throws `E11_INVALID_OPTIONS` (exit code 2) naming the option. */

function invalid(option: string, message: string): never {
  throw new E11Error(ErrorCode.InvalidOptions, `${option}: ${message}`, { context: { path: option } });
}

/** `--tag key=value` (repeatable) → a tags record. */
export function parseTags(
  values: readonly string[] | undefined,
  option = '--tag',
): Record<string, string> | undefined {
  if (!values || values.length === 0) return undefined;
  const tags: Record<string, string> = {};
  for (const value of values) {
    const equals = value.indexOf('=');
    if (equals <= 0) invalid(option, `expected key=value, got '${value}'.`);
    tags[value.slice(0, equals)] = value.slice(equals + 1);
  }
  return tags;
}

/** One `--tag key=value` for filtering. */
export function parseTagFilter(value: string | undefined): { key: string; value: string } | undefined {
  const tags = parseTags(value === undefined ? undefined : [value]);
  const [entry] = Object.entries(tags ?? {});
  return entry ? { key: entry[0], value: entry[1] } : undefined;
}

/** A duration such as `30s`, `10m`, `2h` or milliseconds. */
export function parseDuration(value: string | undefined, option: string): number | undefined {
  if (value === undefined) return undefined;
  const numeric = /^\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : (value as Duration);
  try {
    return toMs(numeric, option);
  } catch {
    return invalid(option, `expected a duration like 30s, 10m, 2h, 7d, got '${value}'.`);
  }
}

/** A point in time: an ISO date, or a duration meaning "that long ago" (`7d`). */
export function parseSince(value: string | undefined, nowMs: number, option = '--since'): Date | undefined {
  if (value === undefined) return undefined;
  if (/^\d+(\.\d+)?(ms|s|m|h|d)$/.test(value.trim()))
    return new Date(nowMs - (parseDuration(value, option) ?? 0));
  const date = new Date(value);
  if (!Number.isFinite(date.getTime()))
    invalid(option, `expected an ISO date or a duration like 7d, got '${value}'.`);
  return date;
}

/** A positive integer (or positive number with `allowFraction`). */
export function parsePositive(
  value: string | undefined,
  option: string,
  allowFraction = false,
): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0 || (!allowFraction && !Number.isInteger(number))) {
    invalid(option, `expected a positive ${allowFraction ? 'number' : 'integer'}, got '${value}'.`);
  }
  return number;
}

/** A value from a fixed list. */
export function parseChoice<T extends string>(
  value: string | undefined,
  choices: readonly T[],
  option: string,
): T | undefined {
  if (value === undefined) return undefined;
  if (!(choices as readonly string[]).includes(value))
    invalid(option, `expected one of ${choices.join(', ')}, got '${value}'.`);
  return value as T;
}

/** Commander's argument parser for a repeatable option: each occurrence appends its value. */
export const collect = (value: string, previous: string[] | undefined): string[] => [
  ...(previous ?? []),
  value,
];
