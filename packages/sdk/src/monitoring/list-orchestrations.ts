import {
  DEFAULTS,
  E11Error,
  ErrorCode,
  type OrchestrationDoc,
  orchestrationDocSchema,
  parseDocument,
  JobStatus,
  type OrchestrationStatus,
  readShardTotals,
  type Store,
} from '@e11/core';
import { hasEnded } from '@e11/core';
import { type OrchestrationInfo, toOrchestrationInfo } from '@e11/core/engine';
import { FieldPath, type Query, Timestamp } from '@google-cloud/firestore';
import PQueue from 'p-queue';

import { decodeCursor, encodeCursor, queryFingerprint } from './history-cursor.js';

/** Filters and paging of {@link OrchestrationService.listOrchestrations}. Every field is optional. */
export interface ListOrchestrationsOptions {
  /** Only orchestrations of this job name. */
  jobName?: string;
  /** Only orchestrations with this status (or any of these). */
  status?: OrchestrationStatus | readonly OrchestrationStatus[];
  /**
   * Only orchestrations with this tag. Each tag key you filter on needs its composite indexes in
   * Firestore (firestore.indexes.json declares them for `customerId`).
   */
  tag?: { key: string; value: string };
  /** Only orchestrations created after this instant. */
  createdAfter?: Date;
  /** Page size. @default DEFAULTS.historyPageSize; at most DEFAULTS.historyMaxPageSize */
  limit?: number;
  /** `nextCursor` of the previous page, for the same filters. */
  cursor?: string | null;
  /**
   * Counts of unfinished orchestrations from their counter shards (one `sum()` aggregation each), so
   * they are live; with `false` every item carries the counts stored on its document, which are
   * final for ended orchestrations and from the last summary otherwise. @default true
   */
  liveCounts?: boolean;
}

/** One page of orchestrations, newest first. */
export interface OrchestrationPage {
  items: OrchestrationInfo[];
  /** Pass as `cursor` to get the next page; `null` on the last page. */
  nextCursor: string | null;
}

const STATUSES = new Set<string>(Object.values(JobStatus));

function invalid(path: string, message: string): never {
  throw new E11Error(ErrorCode.InvalidOptions, `${path}: ${message}`, { context: { path } });
}

function compileFilters(options: ListOrchestrationsOptions) {
  const limit = options.limit ?? DEFAULTS.historyPageSize;
  if (!Number.isInteger(limit) || limit < 1 || limit > DEFAULTS.historyMaxPageSize) {
    invalid('limit', `must be an integer from 1 to ${DEFAULTS.historyMaxPageSize}, got ${String(limit)}.`);
  }
  const statuses =
    options.status === undefined
      ? []
      : typeof options.status === 'string'
        ? [options.status]
        : [...options.status];
  for (const status of statuses) {
    if (!STATUSES.has(status))
      invalid('status', `must be one of ${[...STATUSES].join(', ')}, got ${JSON.stringify(status)}.`);
  }
  if (options.jobName !== undefined && (typeof options.jobName !== 'string' || options.jobName === '')) {
    invalid('jobName', 'must be a non-empty string.');
  }
  if (
    options.tag !== undefined &&
    (typeof options.tag?.key !== 'string' || options.tag.key === '' || typeof options.tag.value !== 'string')
  ) {
    invalid('tag', 'must be { key, value } with a non-empty key and a string value.');
  }
  if (
    options.createdAfter !== undefined &&
    !(options.createdAfter instanceof Date && Number.isFinite(options.createdAfter.getTime()))
  ) {
    invalid('createdAfter', 'must be a valid Date.');
  }
  const filters = {
    jobName: options.jobName ?? null,
    statuses: [...new Set(statuses)].sort(),
    tag: options.tag ? { key: options.tag.key, value: options.tag.value } : null,
    createdAfter: options.createdAfter?.getTime() ?? null,
  };
  return { limit, filters };
}

/**
 * The orchestration history, newest first, with cursor pagination: filter by job name, status, one
 * tag and creation time. Each page is one Firestore query (one read per item, ordered by `createdAt`
 * desc and id) plus, with `liveCounts`, one count aggregation per unfinished item. The composite
 * indexes these queries need are declared in `firestore.indexes.json`. A malformed cursor, or one
 * from other filters, is `E11_INVALID_CURSOR`; bad options are `E11_INVALID_OPTIONS`.
 */
export async function listOrchestrations(
  store: Store,
  options: ListOrchestrationsOptions = {},
): Promise<OrchestrationPage> {
  const { docs, nextCursor } = await queryOrchestrations(store, options);
  return { items: await withCounts(store, docs, options.liveCounts ?? true), nextCursor };
}

/** The documents of one history page (what `listOrchestrations` shows, before counts). */
export async function queryOrchestrations(
  store: Store,
  options: ListOrchestrationsOptions,
): Promise<{ docs: OrchestrationDoc[]; nextCursor: string | null }> {
  const { limit, filters } = compileFilters(options);
  const fingerprint = queryFingerprint(filters);
  const after = options.cursor ? decodeCursor(options.cursor, fingerprint) : undefined;

  let query: Query = store.collections.orchestrations();
  if (store.tenant !== null) query = query.where('tenant', '==', store.tenant);
  if (filters.jobName !== null) query = query.where('jobName', '==', filters.jobName);
  if (filters.statuses.length === 1) query = query.where('status', '==', filters.statuses[0]);
  if (filters.statuses.length > 1) query = query.where('status', 'in', filters.statuses);
  if (filters.tag) query = query.where(new FieldPath('tags', filters.tag.key), '==', filters.tag.value);
  if (filters.createdAfter !== null)
    query = query.where('createdAt', '>', Timestamp.fromMillis(filters.createdAfter));
  query = query.orderBy('createdAt', 'desc').orderBy(FieldPath.documentId(), 'desc');
  if (after) query = query.startAfter(after.createdAt, after.id);

  const snapshot = await query.limit(limit + 1).get();
  const docs = snapshot.docs.slice(0, limit).map((doc) => parseDocument(orchestrationDocSchema, doc));
  const last = docs.at(-1);
  const nextCursor =
    snapshot.size > limit && last
      ? encodeCursor({ createdAt: last.createdAt, id: last.id }, fingerprint)
      : null;
  return { docs, nextCursor };
}

/** Orchestration views with live counts for the unfinished ones (bounded concurrency). */
export async function withCounts(
  store: Store,
  docs: readonly OrchestrationDoc[],
  live: boolean,
): Promise<OrchestrationInfo[]> {
  const queue = new PQueue({ concurrency: 16 });
  return Promise.all(
    docs.map(async (doc) => {
      if (!live || hasEnded(doc)) return toOrchestrationInfo(doc, doc.counts, doc.taskMillis ?? 0);
      const { counts, taskMillis } = await queue.add(() => readShardTotals(store, doc.id));
      return toOrchestrationInfo(doc, counts, taskMillis);
    }),
  );
}
