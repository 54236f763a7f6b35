import { type JobCompletedEvent } from '@e11/core';
import { subscribeToJobCompleted } from '@e11/sdk';
import type { PubSub } from '@google-cloud/pubsub';

/**
 * Every JobCompletedEvent a test's subscription received, in arrival order, and a way to wait for one
 * without sleeping: `eventFor` resolves as soon as the event arrives (or at once if it already did).
 */
export class CompletedEvents {
  readonly events: JobCompletedEvent[] = [];
  private readonly listeners = new Set<() => void>();
  private subscription: { close(): Promise<void> } | undefined;

  /** Subscribes to `topic` (one subscription per call; close() ends them). */
  async subscribe(pubsub: PubSub, topic: string): Promise<void> {
    this.subscription = await subscribeToJobCompleted(pubsub, { topic }, (event) => {
      this.record(event);
      return Promise.resolve();
    });
  }

  /** Adds an event received elsewhere (e.g. by a test's own subscription) and wakes the waiters. */
  record(event: JobCompletedEvent): void {
    this.events.push(event);
    for (const listener of this.listeners) listener();
  }

  /** The events of one orchestration so far, in arrival order. */
  of(orchestrationId: string): JobCompletedEvent[] {
    return this.events.filter((e) => e.orchestrationId === orchestrationId);
  }

  /** Resolves with the event of `orchestrationId` for `epoch` as soon as it arrives. */
  eventFor(orchestrationId: string, epoch = 1): Promise<JobCompletedEvent> {
    return new Promise((resolve) => {
      const check = () => {
        const event = this.events.find((e) => e.orchestrationId === orchestrationId && e.epoch === epoch);
        if (!event) return;
        this.listeners.delete(check);
        resolve(event);
      };
      this.listeners.add(check);
      check();
    });
  }

  async close(): Promise<void> {
    await this.subscription?.close();
  }
}
