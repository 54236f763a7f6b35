import { describe, expect, it } from 'vitest';

import { acquireLaunchRateLimiter, LaunchRateLimiter, launchRateLimiterKey } from './rate-limiter.js';

describe('acquireLaunchRateLimiter', () => {
  it('gives every holder of one project and region the same limiter, at the smallest rate', () => {
    const key = launchRateLimiterKey('p1', 'europe-west1');
    const fast = acquireLaunchRateLimiter(key, 600);
    const slow = acquireLaunchRateLimiter(key, 60);
    const other = acquireLaunchRateLimiter(launchRateLimiterKey('p1', 'us-east4'), 600);
    expect(slow.limiter).toBe(fast.limiter);
    expect(other.limiter).not.toBe(fast.limiter);
    expect(fast.limiter.ratePerMinute).toBe(60);
    slow.release();
    slow.release();
    expect(fast.limiter.ratePerMinute).toBe(600);
    fast.release();
    other.release();
    // Once every holder is gone, a new holder starts afresh.
    const again = acquireLaunchRateLimiter(key, 120);
    expect(again.limiter).not.toBe(fast.limiter);
    expect(again.limiter.ratePerMinute).toBe(120);
    again.release();
  });
});

describe('LaunchRateLimiter', () => {
  it('lets a second of quota through at once, then paces the rest', async () => {
    const limiter = new LaunchRateLimiter(120);
    const started = Date.now();
    await Promise.all([limiter.acquire(), limiter.acquire()]);
    expect(Date.now() - started).toBeLessThan(200);
    await limiter.acquire();
    // 120 a minute: the third request waits for a token, half a second.
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
  });

  it('drops a waiter whose signal aborts, with the reason', async () => {
    const limiter = new LaunchRateLimiter(60);
    await limiter.acquire();
    const controller = new AbortController();
    const waiting = limiter.acquire(controller.signal);
    expect(limiter.waiting).toBe(1);
    controller.abort(new Error('cancelled'));
    await expect(waiting).rejects.toThrow('cancelled');
    expect(limiter.waiting).toBe(0);
  });
});
