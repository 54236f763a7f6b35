import type { PubSub } from '@google-cloud/pubsub';
import { DEFAULTS } from '../defaults.js';
import { E11Error, ErrorCode } from '../errors.js';
import { GrpcStatus, grpcCodeOf } from '../internal/grpc-errors.js';
import { type Logger } from '../logging.js';

/** Checks that a topic exists before a kick-off promises an event on it. */
export interface TopicCheck {
  /** Resolves when `topic` exists or cannot be checked; `E11_UNKNOWN_TOPIC` when it does not exist. */
  check(topic: string): Promise<void>;
}

/**
 * A {@link TopicCheck} over a Pub/Sub client, cached per topic: one `getMetadata` call per topic for
 * the life of the checker (a service), however many kick-offs use it. A topic that does not exist
 * fails the kick-off with `E11_UNKNOWN_TOPIC` (not cached: create the topic and kick off again).
 * A check that cannot be made — the caller may publish but not read topic metadata (PERMISSION_DENIED:
 * `roles/pubsub.publisher` alone does not grant `pubsub.topics.get`), no credentials, Pub/Sub
 * unreachable — does not block kick-offs: it is logged once per topic and the topic is taken as is.
 * `pubsub` undefined (events go through a custom publisher) skips the check.
 */
export function createTopicCheck(pubsub: () => PubSub | undefined, logger: Pick<Logger, 'warn'>): TopicCheck {
  const checked = new Map<string, Promise<void>>();
  const lookUp = async (client: PubSub, topic: string): Promise<void> => {
    try {
      // Credentials first (none are needed on the emulator): without them the Pub/Sub client's own call
      // path leaves a rejection of its credential lookup unhandled, which would end a Node process.
      if (!client.isEmulator) await client.auth.getClient();
      await client.topic(topic).getMetadata({ timeout: DEFAULTS.topicCheckTimeoutMs });
    } catch (error) {
      const code = grpcCodeOf(error);
      if (code === GrpcStatus.NOT_FOUND) {
        throw new E11Error(
          ErrorCode.UnknownTopic,
          `Topic '${topic}' does not exist: create it before kicking off, or name an existing one.`,
          { cause: error, context: { path: 'topic', topic, grpcCode: code } },
        );
      }
      logger.warn(
        { topic, grpcCode: code, err: error },
        code === GrpcStatus.PERMISSION_DENIED
          ? 'Not allowed to read the topic (pubsub.topics.get): kick-offs go on without checking it exists'
          : 'Could not check that the topic exists: kick-offs go on without checking it',
      );
    }
  };
  return {
    check(topic) {
      const client = pubsub();
      if (!client) return Promise.resolve();
      let pending = checked.get(topic);
      if (!pending) {
        pending = lookUp(client, topic);
        checked.set(topic, pending);
        // A missing topic may be created a moment later: ask again next time.
        pending.catch(() => checked.delete(topic));
      }
      return pending;
    },
  };
}
