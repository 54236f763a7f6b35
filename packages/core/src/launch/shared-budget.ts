import type { DocumentReference } from '@google-cloud/firestore';

import { E11Error, ErrorCode } from '../errors.js';
import type { Logger } from '../logging.js';

import type { LaunchRateLimiter } from './rate-limiter.js';

/** Paces launch requests: `acquire()` resolves when one request may be sent. */
export interface LaunchPacer {
  /** Resolves when the caller may send one request; rejects with the reason when `signal` aborts first. */
  acquire(signal?: AbortSignal): Promise<void>;
}

/**
 * The stored state of a shared budget: the theoretical arrival time of the next request (GCRA, the
 * "virtual scheduling" form of a token bucket), on Firestore's clock.
 */
interface BudgetDoc {
  /** Firestore's time (ms) at which the next request is due, were every reserved slot used. */
  nextAtMs: number;
  /** The rate its last writer applied (information for operators). */
  ratePerMinute: number;
}

/** What one reservation on the budget gave: the slots reserved, and when to ask again otherwise. */
interface Reservation {
  /** When each reserved request may go, in ms after the reservation's read (ascending). */
  offsetsMs: number[];
  /** When nothing could be reserved within the horizon: how long until the next slot. */
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

/** How far ahead one reservation goes: fewer writes, and little lost if its process dies. */
export const RESERVE_HORIZON_MS = 1_000;

/** A new reservation is made this long before the last reserved slot (more than a read and a write take). */
const LEAD_MS = 250;

/** Compare-and-swap rounds of one reservation before it gives up (the launch then retries later). */
const MAX_RESERVE_ATTEMPTS = 20;

/** At least this long between two reservations of one process, so that arriving requests batch. */
const MIN_CYCLE_MS = 20;

/** The bucket's size by default: one second's worth of requests (at least 1), as the in-process limiter. */
export const budgetBurst = (ratePerMinute: number): number => Math.max(1, Math.ceil(ratePerMinute / 60));

/**
 * One reservation on the budget at `nowMs` (Firestore's time): reserves up to `wanted` request slots due
 * within {@link RESERVE_HORIZON_MS}, each `60000 / ratePerMinute` ms after the previous, up to `burst`
 * of them at once after a quiet spell. Any window of T ms then holds at most `burst + T × rate` slots,
 * however many processes reserve them. Pure, so the arithmetic is tested on its own.
 */
export function reserveSlots(
  stored: BudgetDoc | undefined,
  nowMs: number,
  ratePerMinute: number,
  wanted: number,
  burst = budgetBurst(ratePerMinute),
): { doc: BudgetDoc; reservation: Reservation } {
  const interval = 60_000 / ratePerMinute;
  const tolerance = (burst - 1) * interval;
  let next = stored?.nextAtMs ?? nowMs;
  const offsetsMs: number[] = [];
  while (offsetsMs.length < wanted) {
    const at = Math.max(nowMs, next - tolerance);
    if (at - nowMs > RESERVE_HORIZON_MS) break;
    offsetsMs.push(Math.ceil(at - nowMs));
    next = Math.max(next, at) + interval;
  }
  const waitMs =
    offsetsMs.length > 0 ? 0 : Math.max(1, Math.ceil(next - tolerance - nowMs - RESERVE_HORIZON_MS));
  return { doc: { nextAtMs: next, ratePerMinute }, reservation: { offsetsMs, waitMs } };
}

/**
 * Cloud Run's "job run requests per minute" quota is the project's and region's, shared by every
 * backend, function, sweep and schedule tick that launches there, in any process: this pacer gives each
 * request a slot of one schedule stored in Firestore (GCRA on Firestore's clock, so no process's clock
 * matters), at the rate of the process's limiter (the smallest any of its services configured). One
 * conditioned write reserves the slots of every request waiting in the process, up to a second ahead,
 * and each request goes at its slot: the budget costs a read and a write per batch, not per request, and
 * paces evenly whatever the batch size. A reservation that fails rejects the requests it served with a
 * retryable `E11_UNAVAILABLE`: the launch retries them as it retries a 503, and leaves them Pending for
 * the sweeper past its budget.
 */
export class SharedLaunchBudget implements LaunchPacer {
  private readonly waiters: Waiter[] = [];
  private pumping = false;

  constructor(
    private readonly ref: DocumentReference,
    /** The process's limiter: its rate is the smallest any service of the process configured. */
    private readonly local: LaunchRateLimiter,
    private readonly logger: Logger,
    /** The bucket's size; null: one second's worth of the rate. */
    private readonly burst: number | null = null,
  ) {}

  acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ resolve, reject, signal });
      this.pump();
    });
  }

  /** Serves the waiters, one reservation at a time, until none is left. */
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
      const batch = this.waiters.splice(0, this.waiters.length);
      if (batch.length === 0) return;
      let reservation: Reservation;
      try {
        reservation = await this.reserve(batch.length, rate, this.burst ?? budgetBurst(rate));
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
      const { offsetsMs } = reservation;
      // Each reserved slot lets its waiter go at its time (one that left meanwhile gives it up); the
      // next reservation, for the others, is made meanwhile: slots stay reserved up to a horizon ahead.
      batch.slice(0, offsetsMs.length).forEach((waiter, i) => {
        setTimeout(() => {
          if (waiter.signal?.aborted) waiter.reject(waiter.signal.reason);
          else waiter.resolve();
        }, offsetsMs[i] ?? 0);
      });
      this.waiters.unshift(...batch.slice(offsetsMs.length));
      // Reserve again shortly before the last slot: requests that arrive meanwhile go in one batch, and
      // the next slots follow the last ones without a gap.
      const last = offsetsMs.at(-1);
      await this.wait(last === undefined ? reservation.waitMs : Math.max(MIN_CYCLE_MS, last - LEAD_MS));
    }
  }

  /**
   * Reserves up to `wanted` slots: a read, then a write conditioned on the document's update time (a
   * compare-and-swap, retried when another process wrote in between). Not a transaction: a process that
   * dies between its read and its write holds no lock that would stall every other launcher.
   */
  private async reserve(wanted: number, ratePerMinute: number, burst: number): Promise<Reservation> {
    for (let attempt = 1; ; attempt++) {
      const snapshot = await this.ref.get();
      const stored = snapshot.exists ? (snapshot.data() as BudgetDoc) : undefined;
      const { doc, reservation } = reserveSlots(
        stored,
        snapshot.readTime.toMillis(),
        ratePerMinute,
        wanted,
        burst,
      );
      if (reservation.offsetsMs.length === 0) return reservation;
      try {
        if (snapshot.updateTime) await this.ref.update({ ...doc }, { lastUpdateTime: snapshot.updateTime });
        else await this.ref.create(doc);
        return reservation;
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        // FAILED_PRECONDITION / ALREADY_EXISTS: another process reserved in between; read again.
        if ((code !== 9 && code !== 6) || attempt >= MAX_RESERVE_ATTEMPTS) throw error;
        await this.wait(Math.floor(Math.random() * 20 * attempt));
      }
    }
  }

  /** Waits until a slot falls within the horizon (a waiter whose signal aborted meanwhile leaves then). */
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
