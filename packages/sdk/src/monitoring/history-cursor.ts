import { createHash } from 'node:crypto';

import { E11Error, ErrorCode } from '@e11/core';
import { Timestamp } from '@google-cloud/firestore';
import { z } from 'zod';

/**
 * Opaque pagination cursors of `listOrchestrations`: base64url JSON of the last item's `createdAt`
 * and id, plus a fingerprint of the filters, so a cursor cannot be replayed against another query.
 */

const cursorSchema = z.object({
  v: z.literal(1),
  /** createdAt of the last item: seconds and nanoseconds. */
  s: z.number().int().nonnegative().max(253_402_300_799),
  n: z.number().int().nonnegative().max(999_999_999),
  /** Id of the last item (tie-breaker). */
  id: z.string().min(1).max(1_500),
  /** Fingerprint of the query's filters. */
  q: z.string().length(12),
});

/** The position a cursor points after. */
export interface CursorPosition {
  createdAt: Timestamp;
  id: string;
}

/** A short, stable fingerprint of a query's filters. */
export function queryFingerprint(filters: unknown): string {
  return createHash('sha256').update(JSON.stringify(filters)).digest('base64url').slice(0, 12);
}

/** Encodes the position after `last` for the query with `fingerprint`. */
export function encodeCursor(last: CursorPosition, fingerprint: string): string {
  const body = {
    v: 1,
    s: last.createdAt.seconds,
    n: last.createdAt.nanoseconds,
    id: last.id,
    q: fingerprint,
  };
  return Buffer.from(JSON.stringify(body), 'utf8').toString('base64url');
}

function invalidCursor(reason: string): E11Error {
  return new E11Error(ErrorCode.InvalidCursor, `Invalid cursor: ${reason}. Start again without a cursor.`, {
    context: { path: 'cursor' },
  });
}

/** Decodes a cursor; `E11_INVALID_CURSOR` when it is malformed or was made for other filters. */
export function decodeCursor(cursor: string, fingerprint: string): CursorPosition {
  if (
    typeof cursor !== 'string' ||
    cursor.length === 0 ||
    cursor.length > 4_096 ||
    !/^[A-Za-z0-9_-]+$/.test(cursor)
  ) {
    throw invalidCursor('not a cursor returned by listOrchestrations');
  }
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor('not a cursor returned by listOrchestrations');
  }
  const parsed = cursorSchema.safeParse(json);
  if (!parsed.success) throw invalidCursor('not a cursor returned by listOrchestrations');
  if (parsed.data.q !== fingerprint) throw invalidCursor('it belongs to a query with other filters');
  return { createdAt: new Timestamp(parsed.data.s, parsed.data.n), id: parsed.data.id };
}
