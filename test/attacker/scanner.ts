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
