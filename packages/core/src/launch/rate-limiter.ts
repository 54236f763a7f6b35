/**
 * The pace of launch requests. Cloud Run's "job run requests per minute per region" quota belongs to a
 * project and region, not to an object: every service, tenant view, schedule fire and sweep of one
 * process that launches into the same project and region draws from one {@link LaunchRateLimiter},
 * found through {@link acquireLaunchRateLimiter}.
 */

/**
 * A token bucket: `ratePerMinute` requests a minute, evenly refilled, with a burst of one second's
 * worth (at least 1). Waiters are served first come, first served; a waiter whose signal aborts leaves
 * the line with the signal's reason.
 */
export class LaunchRateLimiter {
  private rate: number;
  private tokens: number;
  private refilledAt: number;
  private readonly waiters: { resolve(): void; reject(reason: unknown): void; abandon(): void }[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    ratePerMinute: number,
    private readonly now: () => number = Date.now,
  ) {
    this.rate = ratePerMinute;
    this.tokens = this.burst;
    this.refilledAt = now();
  }

  /** Requests allowed per minute. */
  get ratePerMinute(): number {
    return this.rate;
  }

  /** Requests waiting for their turn. */
  get waiting(): number {
    return this.waiters.length;
  }

  /** Changes the rate; waiters already in line are paced by the new one. */
  setRate(ratePerMinute: number): void {
    this.refill();
    this.rate = ratePerMinute;
    this.tokens = Math.min(this.tokens, this.burst);
    this.reschedule();
  }

  /** Resolves when the caller may send one request; rejects with the reason when `signal` aborts first. */
  acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const index = this.waiters.indexOf(waiter);
        if (index >= 0) this.waiters.splice(index, 1);
        this.reschedule();
        reject(signal?.reason as Error);
      };
      const waiter = {
        resolve: () => {
          waiter.abandon();
          resolve();
        },
        reject,
        abandon: () => signal?.removeEventListener('abort', onAbort),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
      this.drain();
    });
  }

  private get burst(): number {
    return Math.max(1, Math.ceil(this.rate / 60));
  }

  private refill(): void {
    const at = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((at - this.refilledAt) * this.rate) / 60_000);
    this.refilledAt = at;
  }

  private drain(): void {
    this.refill();
    while (this.waiters.length > 0 && this.tokens >= 1) {
      this.tokens -= 1;
      this.waiters.shift()?.resolve();
    }
    this.reschedule();
  }

  /** A timer for the next token while someone waits, none otherwise (an idle limiter keeps no process alive). */
  private reschedule(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.waiters.length === 0) return;
    this.refill();
    const waitMs = Math.max(1, Math.ceil(((1 - this.tokens) * 60_000) / this.rate));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.drain();
    }, waitMs);
  }
}

/** A share of a process-wide limiter; `release()` it when the holder closes. */
export interface LaunchRateLimiterLease {
  readonly limiter: LaunchRateLimiter;
  /** Gives the share back: the limiter then runs at the smallest rate of the remaining holders. Idempotent. */
  release(): void;
}

interface Entry {
  limiter: LaunchRateLimiter;
  /** The rate each live holder configured. */
  rates: Map<symbol, number>;
}

const limiters = new Map<string, Entry>();

function smallest(rates: Map<symbol, number>): number {
  return Math.min(...rates.values());
}

/**
 * The process-wide limiter for `key` (project and region), shared by every holder. It runs at the
 * smallest rate any live holder configured: the quota is the region's, so the most careful setting wins.
 */
export function acquireLaunchRateLimiter(key: string, ratePerMinute: number): LaunchRateLimiterLease {
  let entry = limiters.get(key);
  if (!entry) {
    entry = { limiter: new LaunchRateLimiter(ratePerMinute), rates: new Map() };
    limiters.set(key, entry);
  }
  const holder = Symbol(key);
  entry.rates.set(holder, ratePerMinute);
  entry.limiter.setRate(smallest(entry.rates));
  const held = entry;
  return {
    limiter: held.limiter,
    release() {
      if (!held.rates.delete(holder)) return;
      if (held.rates.size > 0) held.limiter.setRate(smallest(held.rates));
      else if (limiters.get(key) === held) limiters.delete(key);
    },
  };
}

/** The key of the limiter for launches into `projectId` and `region`. */
export function launchRateLimiterKey(projectId: string | undefined, region: string): string {
  return `${projectId ?? ''}|${region}`;
}
