import PQueue from 'p-queue';
import { DEFAULTS } from '../defaults.js';
import { E11Error, ErrorCode } from '../errors.js';
import { orchestrationDocSchema } from '../model/documents.js';
import { parseDocument } from '../model/parse.js';
import { hasEnded } from '../model/status.js';
import { removeOrchestration } from '../store/remove-orchestration.js';
import { type Store } from '../store/store.js';

/** Options of {@link deleteOrchestrationsOlderThan}. */
export interface RetentionOptions {
  /** Report what would be deleted, delete nothing. @default false */
  dryRun?: boolean;
  /** Orchestrations deleted per call at most. @default DEFAULTS.retentionMaxDeletes */
  limit?: number;
}

/** What a retention pass did. */
export interface RetentionReport {
  /** Orchestrations created before this instant were considered. */
  cutoff: Date;
  /** Ids deleted (or, with `dryRun`, that would be). */
  deleted: string[];
  /** Old orchestrations kept because they have not ended, or their event is not published yet. */
  kept: number;
  /** True when `limit` stopped the pass early; run it again. */
  more: boolean;
  dryRun: boolean;
}

/**
 * Retention: deletes orchestrations created more than `days` days ago that have ended and whose
 * JobCompletedEvent was published — the document and everything under it (params chunks, jobs, counter shards,
 * completion markers) with `recursiveDelete`. Unfinished ones are kept whatever their age. Reads the
 * old orchestrations in pages by `createdAt` (single-field index), so its cost is one read per old
 * orchestration plus the deletes.
 */
export async function deleteOrchestrationsOlderThan(
  store: Store,
  days: number,
  options: RetentionOptions = {},
): Promise<RetentionReport> {
  if (typeof days !== 'number' || !Number.isFinite(days) || days <= 0) {
    throw new E11Error(ErrorCode.InvalidOptions, `days must be a positive number, got ${String(days)}.`, {
      context: { path: 'days' },
    });
  }
  const limit = options.limit ?? DEFAULTS.retentionMaxDeletes;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new E11Error(ErrorCode.InvalidOptions, `limit must be a positive integer, got ${String(limit)}.`, {
      context: { path: 'limit' },
    });
  }
  const dryRun = options.dryRun ?? false;
  const cutoff = new Date(store.clock.now() - days * 86_400_000);
  const report: RetentionReport = { cutoff, deleted: [], kept: 0, more: false, dryRun };
  const queue = new PQueue({ concurrency: 8 });
  const deletions: Promise<void>[] = [];
  const scoped =
    store.tenant === null
      ? store.collections.orchestrations()
      : store.collections.orchestrations().where('tenant', '==', store.tenant);
  const base = scoped.where('createdAt', '<', cutoff).orderBy('createdAt');
  let page = await base.limit(200).get();
  for (;;) {
    for (const snapshot of page.docs) {
      const doc = parseDocument(orchestrationDocSchema, snapshot);
      if (!hasEnded(doc) || doc.eventPending) {
        report.kept++;
        continue;
      }
      if (report.deleted.length >= limit) {
        report.more = true;
        break;
      }
      report.deleted.push(doc.id);
      if (!dryRun) deletions.push(queue.add(() => removeOrchestration(store, doc.id)));
    }
    const last = page.docs.at(-1);
    if (report.more || page.size < 200 || !last) break;
    page = await base.startAfter(last).limit(200).get();
  }
  await Promise.all(deletions);
  return report;
}
