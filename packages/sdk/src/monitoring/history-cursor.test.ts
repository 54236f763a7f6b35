import { isE11Error } from '@e11/core';
import { Timestamp } from '@google-cloud/firestore';
import { describe, expect, it } from 'vitest';

import { decodeCursor, encodeCursor, queryFingerprint } from './history-cursor.js';

const fingerprint = queryFingerprint({ jobName: 'process_batch' });

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return isE11Error(error) ? error.code : 'not an E11Error';
  }
  return undefined;
}

describe('history cursors', () => {
  it('round-trip the position of the last item', () => {
    const createdAt = new Timestamp(1_718_000_000, 123_000_000);
    const cursor = encodeCursor({ createdAt, id: 'abc' }, fingerprint);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    const position = decodeCursor(cursor, fingerprint);
    expect(position.id).toBe('abc');
    expect(position.createdAt.isEqual(createdAt)).toBe(true);
  });

  it('refuse a cursor made for other filters', () => {
    const cursor = encodeCursor({ createdAt: Timestamp.now(), id: 'abc' }, fingerprint);
    expect(codeOf(() => decodeCursor(cursor, queryFingerprint({ jobName: 'other' })))).toBe(
      'E11_INVALID_CURSOR',
    );
  });

  it.each([
    ['empty', ''],
    ['not base64url', 'a+b/c='],
    ['not JSON', Buffer.from('nope').toString('base64url')],
    ['a JSON array', Buffer.from('[1,2]').toString('base64url')],
    [
      'a wrong version',
      Buffer.from(JSON.stringify({ v: 2, s: 1, n: 0, id: 'x', q: fingerprint })).toString('base64url'),
    ],
    [
      'negative seconds',
      Buffer.from(JSON.stringify({ v: 1, s: -1, n: 0, id: 'x', q: fingerprint })).toString('base64url'),
    ],
  ])('refuse a cursor that is %s with E11_INVALID_CURSOR', (_, cursor) => {
    expect(codeOf(() => decodeCursor(cursor, fingerprint))).toBe('E11_INVALID_CURSOR');
  });
});
