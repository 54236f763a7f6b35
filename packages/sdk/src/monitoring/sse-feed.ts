import { ErrorCode, isE11Error, type Logger, type OrchestrationDoc, type Store } from '@e11/core';
import type { OrchestrationInfo } from '@e11/core/engine';
import type { Timestamp } from '@google-cloud/firestore';

import type { JobChangeBatch } from './job-changes.js';
import { orchestrationFeed } from './orchestration-feed.js';
import { statusChanged, toJobEvent, toProgressEvent } from './sse-events.js';
import type { SseWriter } from './sse-writer.js';
import type { CompleteOn } from './watch-orchestration.js';

/** What {@link streamFeed} needs besides the store, the stream and the orchestration. */
export interface StreamFeedOptions {
  /** When the stream sends `completed` and ends; see `WatchOptions.completeOn`. */
  completeOn?: CompleteOn;
  /** A reconnecting client's resume point: the jobs changed after it are replayed. @default none */
  resumeFrom?: Timestamp;
  logger?: Logger;
}

/**
 * Subscribes `writer` to the orchestration's feed (its listeners live in `writer.subscription`) and
 * turns each item into events: `status` first and whenever the status changes, `progress` for other
 * snapshots, one `job` per change — held back until the first `status` —, then `completed` (with the
 * last snapshot) or `stream-error`, after which the stream closes.
 */
export function streamFeed(
  store: Store,
  writer: SseWriter,
  checked: OrchestrationDoc,
  options: StreamFeedOptions,
): void {
  const orchestrationId = checked.id;
  let last: OrchestrationInfo | undefined;
  let held: JobChangeBatch[] = [];

  const sendJobs = (batch: JobChangeBatch) => {
    // Changes come oldest first; each id names the newest change sent so far.
    for (const change of batch.changes) {
      writer.resumeAt(change.updateTime);
      writer.send('job', toJobEvent(change.transition));
    }
    // Everything up to the read time is delivered now. This also corrects a Last-Event-ID from the future.
    writer.resumeAt(batch.readTime);
  };

  writer.subscription.add(
    orchestrationFeed(store, orchestrationId, {
      checked,
      completeOn: options.completeOn,
      jobsStart: options.resumeFrom === undefined ? 'none' : { after: options.resumeFrom },
    }).subscribe({
      next: (item) => {
        if (item.kind === 'jobs') {
          // The current state goes first; job changes wait for it.
          if (last) sendJobs(item.batch);
          else held.push(item.batch);
          return;
        }
        const before = last;
        last = item.info;
        if (!before || statusChanged(before, item.info)) writer.send('status', item.info);
        else writer.send('progress', toProgressEvent(item.info));
        if (!before) {
          for (const batch of held) sendJobs(batch);
          held = [];
        }
      },
      complete: () => {
        writer.send('completed', last);
        writer.close();
      },
      error: (error: unknown) => {
        const code = isE11Error(error) ? error.code : ErrorCode.Unavailable;
        if (!isE11Error(error, ErrorCode.UnknownOrchestration))
          options.logger?.warn({ err: error, orchestrationId }, 'SSE stream failed');
        writer.send('stream-error', {
          code,
          message: error instanceof Error ? error.message : String(error),
        });
        writer.close();
      },
    }),
  );
}
