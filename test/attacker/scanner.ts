/**
 * The one scanner of the isolation attacker test: finds tenant A's markers in captured bytes.
 * Secrets are searched in every capture; A's plain data (and A's ids) only in what tenant B got.
 */

/** Who received a capture: tenant B (no byte of A may be in it), or A / an operator / a process log (no secret). */
export type Audience = 'b' | 'a';

/** One thing the test captured. */
export interface Capture {
  /** Which attempt or output it came from (named in a failure). */
  source: string;
  audience: Audience;
  text: string;
  /** Strings B itself sent (A's ids it guessed): not a leak when echoed back. */
  supplied?: readonly string[];
}

/** A marker: its name (shown in a failure) and how to find it. */
export interface Marker {
  name: string;
  secret: boolean;
  pattern: RegExp;
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A marker found as a whole token: not inside a longer run of letters and digits. */
export function marker(name: string, value: string, secret = false): Marker {
  return { name, secret, pattern: new RegExp(`(?<![A-Za-z0-9])${escape(value)}(?![A-Za-z0-9])`) };
}

/** The markers a capture contains (secrets for any audience; every marker for B). */
export function findMarkers(capture: Capture, markers: readonly Marker[]): string[] {
  let text = capture.text;
  for (const value of capture.supplied ?? []) text = text.split(value).join('<supplied>');
  return markers
    .filter((m) => (m.secret || capture.audience === 'b') && m.pattern.test(text))
    .map((m) => m.name);
}

/** Replaces each given id by a placeholder, so two answers about different ids can be compared. */
export function normalizeIds(text: string, ids: Record<string, string>): string {
  let out = text;
  for (const [placeholder, id] of Object.entries(ids)) out = out.split(id).join(`<${placeholder}>`);
  return out;
}

/** Where in a JSON text a marker sits (`$.items[0].params.cvv`), for a precise failure message; [] for other text. */
export function markerPaths(text: string, pattern: RegExp, limit = 4): string[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return [];
  }
  const paths: string[] = [];
  const walk = (item: unknown, path: string) => {
    if (paths.length >= limit) return;
    if (typeof item === 'string') {
      if (pattern.test(item)) paths.push(path);
    } else if (Array.isArray(item)) {
      item.forEach((inner, i) => walk(inner, `${path}[${i}]`));
    } else if (item !== null && typeof item === 'object') {
      for (const [key, inner] of Object.entries(item)) walk(inner, `${path}.${key}`);
    }
  };
  walk(value, '$');
  return paths;
}
