import { randomUUID } from 'node:crypto';

import { E11Error, ErrorCode, type JobStatus } from '@e11/core';
import type { JobInfo } from '@e11/sdk';

/**
 * One job as the orchestration grid and charts need it: no params, result or error (the job's own
 * endpoint has them), so that a page of 1,000 stays small.
 */
export interface DashboardJobSummary {
  id: string;
  index: number;
  status: JobStatus;
  deadLettered: boolean;
  /** Attempts so far in the current run. */
  attempt: number;
  /** Each attempt's start and end (null while it runs). */
  attempts: { startedAt: Date; finishedAt: Date | null }[];
  startedAt: Date | null;
  finishedAt: Date | null;
  updatedAt: Date;
}

/** One page of an orchestration's jobs, in index order. */
export interface DashboardJobPage {
  items: DashboardJobSummary[];
  /** Jobs in the orchestration when the listing was read. */
  total: number;
  /** Pass it as `cursor` for the next page; null on the last one. */
  nextCursor: string | null;
}

/** Jobs per page by default, and at most. */
export const JOB_PAGE_DEFAULT = 1_000;
export const JOB_PAGE_MAX = 5_000;
/** How long a listing is kept for its next pages, and how many are kept at once. */
const LISTING_TTL_MS = 60_000;
const MAX_LISTINGS = 16;

/** The summary of a job. */
export function toJobSummary(job: JobInfo): DashboardJobSummary {
  return {
    id: job.id,
    index: job.index,
    status: job.status,
    deadLettered: job.deadLettered,
    attempt: job.attempt,
    attempts: job.attempts.map((record) => ({ startedAt: record.startedAt, finishedAt: record.finishedAt })),
    startedAt: job.startedAt,
    finishedAt: job.finishedAt,
    updatedAt: job.updatedAt,
  };
}

/** `?limit=` of the job list: an integer from 1 to {@link JOB_PAGE_MAX}; `E11_INVALID_OPTIONS` otherwise. */
export function jobPageLimit(value: string | null): number {
  if (value === null || value === '') return JOB_PAGE_DEFAULT;
  const limit = Number(value);
  if (!Number.isInteger(limit) || limit < 1 || limit > JOB_PAGE_MAX) {
    throw new E11Error(
      ErrorCode.InvalidOptions,
      `limit must be an integer from 1 to ${JOB_PAGE_MAX}, got ${JSON.stringify(value)}.`,
      { context: { path: 'limit' } },
    );
  }
  return limit;
}

interface Listing {
  orchestrationId: string;
  jobs: DashboardJobSummary[];
  expiresAt: number;
}

/**
 * Pages of an orchestration's jobs. The first page reads every job once (the SDK's `listJobs`) and
 * keeps the summaries for a minute under a listing id; the cursor names the listing and the offset,
 * so the next pages cost no Firestore read. A cursor whose listing expired reads the jobs again and
 * goes on from its offset (jobs are in index order, which does not change).
 */
export class JobListings {
  readonly #listings = new Map<string, Listing>();
  readonly #now: () => number;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /** The page at `cursor` (the first without), reading the jobs with `read` when needed. */
  async page(
    orchestrationId: string,
    cursor: string | null,
    limit: number,
    read: () => Promise<JobInfo[]>,
  ): Promise<DashboardJobPage> {
    this.#expire();
    const position = cursor === null ? { listingId: null, offset: 0 } : parseCursor(cursor);
    const known = position.listingId === null ? undefined : this.#listings.get(position.listingId);
    let listingId = position.listingId;
    let listing = known?.orchestrationId === orchestrationId ? known : undefined;
    if (!listing) {
      listing = {
        orchestrationId,
        jobs: (await read()).map(toJobSummary),
        expiresAt: this.#now() + LISTING_TTL_MS,
      };
      listingId = randomUUID();
      this.#listings.set(listingId, listing);
      // The oldest goes first when too many are kept (Map keeps insertion order).
      for (const id of this.#listings.keys()) {
        if (this.#listings.size <= MAX_LISTINGS) break;
        this.#listings.delete(id);
      }
    }
    const end = position.offset + limit;
    return {
      items: listing.jobs.slice(position.offset, end),
      total: listing.jobs.length,
      nextCursor: end < listing.jobs.length ? `${String(listingId)}.${String(end)}` : null,
    };
  }

  #expire(): void {
    const now = this.#now();
    for (const [id, listing] of this.#listings) if (listing.expiresAt <= now) this.#listings.delete(id);
  }
}

function parseCursor(cursor: string): { listingId: string; offset: number } {
  const match = /^([0-9a-f-]{36})\.(\d{1,9})$/.exec(cursor);
  if (!match?.[1] || match[2] === undefined) {
    throw new E11Error(ErrorCode.InvalidCursor, 'The job list cursor is malformed.', {
      context: { path: 'cursor' },
    });
  }
  return { listingId: match[1], offset: Number(match[2]) };
}
