import type { JobDoc } from '../model/documents.js';

/** What a redacted value is replaced with. */
export const REDACTED = '[REDACTED]';

/**
 * Values at least this long are redacted wherever they occur in a text (inside a longer word too);
 * shorter ones (a CVV, a PIN) only as a whole token, or every "1" of a timestamp would go.
 */
const SUBSTRING_MIN_LENGTH = 4;

/** A letter, digit or underscore on either side makes a short value part of a longer token. */
const TOKEN_BEFORE = '(?<![\\p{L}\\p{N}_])';
const TOKEN_AFTER = '(?![\\p{L}\\p{N}_])';

/**
 * A copy of `value` in which every property named in `sensitiveKeys` (at any depth) is replaced by
 * `[REDACTED]`, so it can be shown or sent to a browser. The original is not changed.
 */
export function redactParams<T>(value: T, sensitiveKeys: readonly string[]): T {
  if (sensitiveKeys.length === 0) return value;
  return redactValue(value, new Set(sensitiveKeys), (text) => text);
}

/** `value` with sensitive keys replaced and every other string passed through `text`. */
function redactValue<T>(value: T, keys: ReadonlySet<string>, text: (text: string) => string): T {
  const walk = (item: unknown): unknown => {
    if (typeof item === 'string') return text(item);
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

function collect(value: unknown, keys: ReadonlySet<string>, sensitive: boolean, out: Set<string>): void {
  if (value === null || value === undefined) return;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
    if (sensitive && String(value) !== '') out.add(String(value));
    return;
  }
  if (Array.isArray(value)) {
    for (const item of value) collect(item, keys, sensitive, out);
    return;
  }
  if (typeof value === 'object') {
    for (const [key, item] of Object.entries(value as Record<string, unknown>))
      collect(item, keys, sensitive || keys.has(key), out);
  }
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * A function that replaces, in a text, every value found under a sensitive key of `params` (at any
 * depth), raw or JSON-escaped, with `[REDACTED]`. Values of 4 characters or more are matched
 * anywhere; shorter ones (a 3-digit CVV, a PIN) as whole tokens only, so `123` is redacted in
 * "cvv 123" but not in "1234" or "x123". Used on log lines, stored error messages and stacks,
 * progress messages, and every job text the SDK returns.
 */
export function createRedactor(params: unknown, sensitiveKeys: readonly string[]): (text: string) => string {
  const values = new Set<string>();
  if (sensitiveKeys.length > 0) collect(params, new Set(sensitiveKeys), false, values);
  if (values.size === 0) return (text) => text;
  const long = new Set<string>();
  const short = new Set<string>();
  for (const value of values) {
    for (const form of [value, JSON.stringify(value).slice(1, -1)])
      (form.length >= SUBSTRING_MIN_LENGTH ? long : short).add(form);
  }
  const substrings = [...long].sort((a, b) => b.length - a.length);
  const tokens =
    short.size === 0
      ? null
      : new RegExp(
          `${TOKEN_BEFORE}(?:${[...short]
            .sort((a, b) => b.length - a.length)
            .map(escapeRegExp)
            .join('|')})${TOKEN_AFTER}`,
          'gu',
        );
  return (text) => {
    let out = text;
    for (const form of substrings) if (out.includes(form)) out = out.split(form).join(REDACTED);
    return tokens ? out.replace(tokens, REDACTED) : out;
  };
}

/**
 * A job document as it may leave the SDK: params, result and checkpoint with the orchestration's
 * `sensitiveKeys` replaced by `[REDACTED]`, and the values of those keys redacted from every text of
 * the job (error message and stack, attempt errors, progress message, other strings of the result
 * and checkpoint). The stored document is not changed.
 */
export function redactJob(doc: JobDoc, sensitiveKeys: readonly string[]): JobDoc {
  if (sensitiveKeys.length === 0) return doc;
  const keys = new Set(sensitiveKeys);
  const text = createRedactor(doc.params, sensitiveKeys);
  return {
    ...doc,
    params: redactValue(doc.params, keys, text),
    result: redactValue(doc.result, keys, text),
    checkpoint: redactValue(doc.checkpoint, keys, text),
    error: doc.error && {
      ...doc.error,
      message: text(doc.error.message),
      stack: doc.error.stack === null ? null : text(doc.error.stack),
    },
    progress: doc.progress && {
      ...doc.progress,
      message: doc.progress.message === null ? null : text(doc.progress.message),
    },
    attempts: doc.attempts.map((record) =>
      record.error ? { ...record, error: { ...record.error, message: text(record.error.message) } } : record,
    ),
  };
}
