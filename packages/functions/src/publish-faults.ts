import type { EventPublisher } from '@e11/sdk/core';

/**
 * The test knob `E11_FAULT_PUBLISH_FAIL_ONCE_TOPICS` (comma-separated topic names): the first publish
 * to each of those topics in each project fails, in this process, after the completion marker was
 * written — so tests can watch the publish-failure retry path on a real Functions Framework server.
 * Never set it in production.
 */
export const FAIL_ONCE_TOPICS_ENV = 'E11_FAULT_PUBLISH_FAIL_ONCE_TOPICS';

/** The error an injected publish failure throws (its message says where it came from). */
export class InjectedPublishFailure extends Error {
  override readonly name = 'InjectedPublishFailure';
}

/** The topics of the knob, from `env` (empty when it is unset). */
export function failOnceTopics(env: NodeJS.ProcessEnv = process.env): Set<string> {
  const raw = env[FAIL_ONCE_TOPICS_ENV] ?? '';
  return new Set(
    raw
      .split(',')
      .map((topic) => topic.trim())
      .filter((topic) => topic !== ''),
  );
}

/**
 * Wraps a publisher so that the first publish to each of `topics` throws {@link InjectedPublishFailure}
 * (once per `scope`, e.g. the project id, and topic, for the life of `failed`).
 */
export function failFirstPublish(
  publisher: EventPublisher,
  topics: ReadonlySet<string>,
  scope: string,
  failed: Set<string>,
): EventPublisher {
  if (topics.size === 0) return publisher;
  return {
    publish(topic, message) {
      const key = `${scope}/${topic}`;
      if (topics.has(topic) && !failed.has(key)) {
        failed.add(key);
        return Promise.reject(
          new InjectedPublishFailure(`${FAIL_ONCE_TOPICS_ENV}: first publish to ${key} fails (test knob).`),
        );
      }
      return publisher.publish(topic, message);
    },
  };
}
