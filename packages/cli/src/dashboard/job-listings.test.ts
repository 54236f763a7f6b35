import { ErrorCode, isE11Error } from '@e11/core';
import type { JobInfo } from '@e11/sdk';
import { describe, expect, it } from 'vitest';

import { jobPageLimit, JobListings } from './job-listings.js';

/** `count` jobs as the SDK's `listJobs` returns them (plain data: only the fields a summary reads matter). */
function jobs(count: number, orchestrationId = 'orc'): JobInfo[] {
  const at = new Date('2026-01-01T00:00:00Z');
  return Array.from({ length: count }, (_, index) => ({
    id: `${orchestrationId}-${index}`,
    orchestrationId,
    jobName: 'job',
    index,
    status: index % 2 === 0 ? 'Completed' : 'Pending',
    params: { secret: 'never in a summary' },
    attempt: index % 2 === 0 ? 1 : 0,
    attempts:
      index % 2 === 0
        ? [
            {
              attempt: 1,
              epoch: 1,
              startedAt: at,
              finishedAt: at,
              outcome: 'Completed',
              error: null,
              executionName: null,
            },
          ]
        : [],
    result: null,
    error: null,
    progress: null,
    checkpoint: null,
    deadLettered: false,
    discarded: false,
    executionName: null,
    heartbeatAt: null,
    startedAt: index % 2 === 0 ? at : null,
    finishedAt: index % 2 === 0 ? at : null,
    createdAt: at,
    updatedAt: at,
    waiting: null,
  }));
}

function errorCode(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return isE11Error(error) ? error.code : 'not an E11Error';
  }
  return undefined;
}

describe('JobListings', () => {
  it('reads the jobs once for the first page and serves the next pages from that listing', async () => {
    let reads = 0;
    const read = () => {
      reads++;
      return Promise.resolve(jobs(25));
    };
    const listings = new JobListings();
    const first = await listings.page('orc', null, 10, read);
    expect(first.items.map((job) => job.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(first.total).toBe(25);
    expect(first.items[0]).toEqual({
      id: 'orc-0',
      index: 0,
      status: 'Completed',
      deadLettered: false,
      attempt: 1,
      attempts: [
        { startedAt: new Date('2026-01-01T00:00:00Z'), finishedAt: new Date('2026-01-01T00:00:00Z') },
      ],
      startedAt: new Date('2026-01-01T00:00:00Z'),
      finishedAt: new Date('2026-01-01T00:00:00Z'),
      updatedAt: new Date('2026-01-01T00:00:00Z'),
    });
    expect(JSON.stringify(first)).not.toContain('never in a summary');
    const second = await listings.page('orc', first.nextCursor, 10, read);
    const third = await listings.page('orc', second.nextCursor, 10, read);
    expect(second.items.map((job) => job.index)).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    expect(third.items.map((job) => job.index)).toEqual([20, 21, 22, 23, 24]);
    expect(third.nextCursor).toBeNull();
    expect(reads).toBe(1);
  });

  it('reads again when the listing expired or belongs to another orchestration, and goes on from the offset', async () => {
    let now = 0;
    let reads = 0;
    const read = (id: string) => () => {
      reads++;
      return Promise.resolve(jobs(30, id));
    };
    const listings = new JobListings(() => now);
    const first = await listings.page('orc', null, 10, read('orc'));
    now += 61_000;
    const second = await listings.page('orc', first.nextCursor, 10, read('orc'));
    expect(second.items.map((job) => job.index)).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    expect(reads).toBe(2);
    const other = await listings.page('other', second.nextCursor, 10, read('other'));
    expect(other.items.map((job) => job.id)).toEqual(Array.from({ length: 10 }, (_, i) => `other-${i + 20}`));
    expect(reads).toBe(3);
  });

  it('refuses a malformed cursor with E11_INVALID_CURSOR', async () => {
    const listings = new JobListings();
    await expect(listings.page('orc', 'garbage', 10, () => Promise.resolve(jobs(1)))).rejects.toMatchObject({
      code: ErrorCode.InvalidCursor,
    });
  });
});

describe('jobPageLimit', () => {
  it('defaults to 1,000 and takes an integer from 1 to 5,000', () => {
    expect(jobPageLimit(null)).toBe(1_000);
    expect(jobPageLimit('')).toBe(1_000);
    expect(jobPageLimit('1')).toBe(1);
    expect(jobPageLimit('5000')).toBe(5_000);
  });

  it('refuses anything else with E11_INVALID_OPTIONS', () => {
    for (const value of ['0', '5001', '1.5', 'ten', '-3']) {
      expect(
        errorCode(() => jobPageLimit(value)),
        value,
      ).toBe(ErrorCode.InvalidOptions);
    }
  });
});
