import { Timestamp } from '@google-cloud/firestore';
import { describe, expect, it } from 'vitest';

import { formatEventId, parseEventId } from './sse-event-id.js';

describe('SSE event ids', () => {
  it('round-trips a Firestore read time with nanosecond precision', () => {
    const at = new Timestamp(1_718_000_000, 123_456_789);
    const id = formatEventId(at, 42);
    expect(id).toBe('1718000000.123456789-42');
    expect(parseEventId(id)?.isEqual(at)).toBe(true);
  });

  it('pads nanoseconds so ids of one stream sort like their times', () => {
    expect(formatEventId(new Timestamp(5, 7), 1)).toBe('5.000000007-1');
  });

  it.each([
    '',
    'garbage',
    '12-3',
    '1.23-4',
    '1718000000.123456789',
    '-1.000000000-1',
    '99999999999999.000000000-1',
  ])('treats the malformed id %j as no id', (id) => {
    expect(parseEventId(id)).toBeUndefined();
  });
});
