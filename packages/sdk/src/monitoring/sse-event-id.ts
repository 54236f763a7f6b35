import { Timestamp } from '@google-cloud/firestore';

/**
 * SSE event ids. An id is `<seconds>.<nanoseconds>-<sequence>`: the Firestore read time up to which
 * the stream has delivered every job change (server clock, so ids from different server processes
 * compare correctly), and a per-stream sequence that keeps ids unique. A reconnecting client sends
 * the last one as `Last-Event-ID`; the stream then replays the jobs changed after that time.
 */

const EVENT_ID = /^(\d{1,12})\.(\d{9})-(\d{1,15})$/;

/** Formats an event id from the stream's resume point and its sequence number. */
export function formatEventId(resumePoint: Timestamp, sequence: number): string {
  return `${resumePoint.seconds}.${String(resumePoint.nanoseconds).padStart(9, '0')}-${sequence}`;
}

/** The resume point of an event id, or undefined when the id is malformed (it then counts as no id). */
export function parseEventId(id: string | undefined | null): Timestamp | undefined {
  if (!id) return undefined;
  const match = EVENT_ID.exec(id.trim());
  if (!match) return undefined;
  const seconds = Number(match[1]);
  const nanoseconds = Number(match[2]);
  try {
    return new Timestamp(seconds, nanoseconds);
  } catch {
    return undefined;
  }
}
