import type { DocumentReference } from '@google-cloud/firestore';

import { E11Error, ErrorCode } from '../errors.js';
import type { Logger } from '../logging.js';

import type { LaunchRateLimiter } from './rate-limiter.js';

/** Paces launch requests: `acquire()` resolves when one request may be sent. */
export interface LaunchPacer {
  /** Resolves when the caller may send one request; rejects with the reason when `signal` aborts first. */
  acquire(signal?: AbortSignal): Promise<void>;
}

/** The stored state of a shared budget: a token bucket on Firestore's clock. */
interface BudgetDoc {
  tokens: number;
  /** Firestore's time (ms) of the last refill. */
  refilledAtMs: number;
  /** The rate its last writer applied (information for operators). */
  ratePerMinute: number;
}

/** What one transaction on the budget gave. */
interface Take {
  granted: number;
  /** When fewer than asked were granted: how long until the next token. */
  waitMs: number;
}

/** A waiter for one launch request. */
interface Waiter {
  resolve(): void;
  reject(reason: unknown): void;
  signal: AbortSignal | undefined;
}

/** gRPC UNAVAILABLE: what a budget that cannot be read means to the launch (retry later). */
const UNAVAILABLE = 14;

/** Tokens refilled per millisecond for a per-minute rate. */
const perMs = (ratePerMinute: number) => ratePerMinute / 60_000;

/** The bucket's size: one second's worth of requests (at least 1), as the in-process limiter. */
export const budgetBurst = (ratePerMinute: number): number => Math.max(1, Math.ceil(ratePerMinute / 60));

/**
 * One transaction on the budget at `now` (Firestore's time): refills the bucket, takes up to `wanted`
 * whole tokens. Pure, so the arithmetic is tested on its own.
 */
export function takeTokens(
  stored: BudgetDoc | undefined,
  nowMs: number,
  ratePerMinute: number,
  wanted: number,
): { doc: BudgetDoc; take: Take } {
  const burst = budgetBurst(ratePerMinute);
  // Firestore's read times only move forward; the max() keeps a refill from being counted twice anyway.
  const at = stored ? Math.max(stored.refilledAtMs, nowMs) : nowMs;
  const elapsed = stored ? at - stored.refilledAtMs : 0;
  const available = stored ? Math.min(burst, stored.tokens + elapsed * perMs(ratePerMinute)) : burst;
  const granted = Math.max(0, Math.min(wanted, Math.floor(available)));
  const tokens = available - granted;
  const waitMs = granted >= wanted ? 0 : Math.max(1, Math.ceil((1 - (tokens % 1)) / perMs(ratePerMinute)));
  return { doc: { tokens, refilledAtMs: at, ratePerMinute }, take: { granted, waitMs } };
}

/**
 * Cloud Run's "job run requests per minute" quota is the project's and region's, shared by every
 * backend, function, sweep and schedule tick that launches there, in any process: this pacer draws each
 * request from one token bucket stored in Firestore (refilled on Firestore's clock, so no process's
 * clock matters), after the process's own limiter. Requests waiting in one process are granted together
 * (one transaction for up to a second's worth), so the budget costs a read and a write per batch, not per
 * request. A transaction that fails rejects the requests it served with a retryable `E11_UNAVAILABLE`:
 * the launch retries them as it retries a 503, and leaves them Pending for the sweeper past its budget.
 */
export class SharedLaunchBudget implements LaunchPacer {
  private readonly waiters: Waiter[] = [];
  private pumping = false;

  constructor(
    private readonly ref: DocumentReference,
    private readonly local: LaunchRateLimiter,
    private readonly logger: Logger,
  ) {}

  async acquire(signal?: AbortSignal): Promise<void> {
    await this.local.acquire(signal);
    if (signal?.aborted) throw signal.reason;
    await new Promise<void>((resolve, reject) => {
      this.waiters.push({ resolve, reject, signal });
      this.pump();
    });
  }

  /** Serves the waiters, one transaction at a time, until none is left. */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    this.serve()
      .catch((error: unknown) => this.logger.error({ err: error }, 'launch budget: serving failed'))
      .finally(() => {
        this.pumping = false;
        if (this.waiters.length > 0) this.pump();
      });
  }

  private async serve(): Promise<void> {
    for (;;) {
      this.dropAborted();
      const rate = this.local.ratePerMinute;
      const batch = this.waiters.splice(0, budgetBurst(rate));
      if (batch.length === 0) return;
      let take: Take;
      try {
        take = await this.take(batch.length, rate);
      } catch (error) {
        // "Later", like a 503 from Cloud Run: the launch retries it, and never fails a job for it.
        const unavailable = new E11Error(
          ErrorCode.Unavailable,
          `The launch budget in Firestore could not be read: ${(error as Error).message}`,
          { retryable: true, cause: error, context: { grpcCode: UNAVAILABLE } },
        );
        for (const waiter of batch) waiter.reject(unavailable);
        continue;
      }
      for (const waiter of batch.slice(0, take.granted)) waiter.resolve();
      const rest = batch.slice(take.granted);
      if (rest.length === 0) continue;
      this.waiters.unshift(...rest);
      await this.wait(take.waitMs);
    }
  }

  /** Takes up to `wanted` tokens in one transaction. */
  private take(wanted: number, ratePerMinute: number): Promise<Take> {
    return this.ref.firestore.runTransaction(async (transaction) => {
      const snapshot = await transaction.get(this.ref);
      const stored = snapshot.exists ? (snapshot.data() as BudgetDoc) : undefined;
      const { doc, take } = takeTokens(stored, snapshot.readTime.toMillis(), ratePerMinute, wanted);
      if (take.granted > 0 || !stored) transaction.set(this.ref, doc);
      return take;
    });
  }

  /** Waits for the next token (a waiter whose signal aborted meanwhile leaves at the next round). */
  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  private dropAborted(): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const waiter = this.waiters[i];
      if (waiter?.signal?.aborted) {
        this.waiters.splice(i, 1);
        waiter.reject(waiter.signal.reason);
      }
    }
  }
}
