/** Shown instead of a sensitive value. */
export const REDACTED = '[REDACTED]';

function collect(value: unknown, keys: ReadonlySet<string>, sensitive: boolean, out: Set<string>): void {
  if (value === null || value === undefined) return;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
    // Very short values ("1", "ok") would redact unrelated text; they are not meaningful secrets.
    if (sensitive && String(value).length >= 4) out.add(String(value));
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

/**
 * A function that replaces every value found under a sensitive key of `params` (at any depth) —
 * raw or JSON-escaped — with `[REDACTED]` in a text. Used on log lines and stored error messages and
 * stacks, so a secret passed as a param never leaves the task.
 */
export function createRedactor(params: unknown, sensitiveKeys: readonly string[]): (text: string) => string {
  const values = new Set<string>();
  collect(params, new Set(sensitiveKeys), false, values);
  if (values.size === 0) return (text) => text;
  const forms = new Set<string>();
  for (const value of values) {
    forms.add(value);
    forms.add(JSON.stringify(value).slice(1, -1));
  }
  const sorted = [...forms].sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text;
    for (const form of sorted) if (out.includes(form)) out = out.split(form).join(REDACTED);
    return out;
  };
}
