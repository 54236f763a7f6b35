/** What a redacted value is replaced with. */
export const REDACTED = '[REDACTED]';

/**
 * A copy of `value` in which every property named in `sensitiveKeys` (at any depth) is replaced by
 * `[REDACTED]`, so it can be shown or sent to a browser. The original is not changed.
 */
export function redactParams<T>(value: T, sensitiveKeys: readonly string[]): T {
  if (sensitiveKeys.length === 0) return value;
  const keys = new Set(sensitiveKeys);
  const walk = (item: unknown): unknown => {
    if (Array.isArray(item)) return item.map(walk);
    if (item === null || typeof item !== 'object') return item;
    return Object.fromEntries(
      Object.entries(item as Record<string, unknown>).map(([key, inner]) => [
        key,
        keys.has(key) ? REDACTED : walk(inner),
      ]),
    );
  };
  return walk(value) as T;
}
