import { E11Error, ErrorCode } from '../errors.js';
import { RESERVED_ATTRIBUTES } from '../events/job-completed-event.js';

const TAG_KEY = /^[A-Za-z][A-Za-z0-9_.-]{0,62}$/;
/** Pub/Sub allows 100 attributes per message; the event uses a few itself. */
const MAX_TAGS = 64;

/**
 * Tags become Pub/Sub attributes of the JobCompletedEvent: keys of 1-63 letters, digits, `_`, `.`, `-`
 * starting with a letter, not starting with `goog` and not one of the event's own attributes; string
 * values up to 1,024 bytes. Throws `E11_INVALID_OPTIONS` naming the tag.
 */
export function validateTags(tags: unknown): Record<string, string> {
  if (tags === undefined) return {};
  if (typeof tags !== 'object' || tags === null || Array.isArray(tags)) {
    throw new E11Error(
      ErrorCode.InvalidOptions,
      'tags must be an object of string values, e.g. { customerId: "acme" }.',
      {
        context: { path: 'tags' },
      },
    );
  }
  const entries = Object.entries(tags as Record<string, unknown>);
  if (entries.length > MAX_TAGS) {
    throw new E11Error(
      ErrorCode.InvalidOptions,
      `At most ${MAX_TAGS} tags are allowed, got ${entries.length}.`,
      {
        context: { path: 'tags' },
      },
    );
  }
  for (const [key, value] of entries) {
    const path = `tags.${key}`;
    if (!TAG_KEY.test(key) || key.toLowerCase().startsWith('goog')) {
      throw new E11Error(
        ErrorCode.InvalidOptions,
        `Invalid tag key '${key}': use 1-63 letters, digits, '_', '.', '-', starting with a letter and not with 'goog'.`,
        { context: { path } },
      );
    }
    if ((RESERVED_ATTRIBUTES as readonly string[]).includes(key)) {
      throw new E11Error(
        ErrorCode.InvalidOptions,
        `Tag key '${key}' is reserved by the JobCompletedEvent attributes.`,
        {
          context: { path },
        },
      );
    }
    if (typeof value !== 'string' || Buffer.byteLength(value, 'utf8') > 1_024) {
      throw new E11Error(ErrorCode.InvalidOptions, `Tag '${key}' must be a string of at most 1,024 bytes.`, {
        context: { path },
      });
    }
  }
  return { ...(tags as Record<string, string>) };
}
