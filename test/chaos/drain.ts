import { randomUUID } from 'node:crypto';

import type { ChaosStack } from './chaos-stack.js';

/**
 * Drains the audit subscription: publishes a sentinel after every event was published, waits for it,
 * then keeps pulling until the subscription has been quiet for `quietMs` (bounded). Removes the
 * sentinel, so `chaos.messages` holds exactly what the product published, duplicates included.
 */
export async function drainTopic(chaos: ChaosStack, quietMs = 1_500, timeoutMs = 30_000): Promise<void> {
  const sentinel = randomUUID();
  await chaos.pubsub.topic(chaos.topic).publishMessage({ data: Buffer.from('{}'), attributes: { sentinel } });
  const deadline = Date.now() + timeoutMs;
  let count = -1;
  let quietSince = Date.now();
  for (;;) {
    const arrived = chaos.messages.some((message) => message.attributes.sentinel === sentinel);
    if (chaos.messages.length !== count) {
      count = chaos.messages.length;
      quietSince = Date.now();
    }
    if (arrived && Date.now() - quietSince >= quietMs) break;
    if (Date.now() > deadline) throw new Error(`the audit subscription did not drain within ${timeoutMs} ms`);
    // A poll of what the subscription received, bounded by the deadline.
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const at = chaos.messages.findIndex((message) => message.attributes.sentinel === sentinel);
  chaos.messages.splice(at, 1);
}
