import { EventEmitter } from 'node:events';
import { type ClientRequest, type IncomingHttpHeaders, request } from 'node:http';

import type { DeliveryOptions, RouteSpec, RouteStats } from './interfaces.js';

/** One CloudEvent as the Firestore emulator posted it (binary mode: headers + body). */
export interface ReceivedEvent {
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Hop-by-hop and framing headers that a forwarder must not copy. */
const SKIPPED_HEADERS = new Set([
  'host',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'content-length',
  'upgrade',
  'proxy-connection',
  'te',
  'trailer',
  'expect',
]);

function forwardHeaders(headers: IncomingHttpHeaders, body: Buffer, attempt: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || SKIPPED_HEADERS.has(name)) continue;
    out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  out['content-length'] = String(body.length);
  out['x-e11-delivery-attempt'] = String(attempt);
  return out;
}

/** Limits how many deliveries of a route send at once. */
class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await task();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

/**
 * The deliveries of one Firestore trigger to its function: at least once, like Eventarc with retries
 * enabled — a non-2xx answer or a connection error is retried with exponential backoff and jitter up
 * to `maxAttempts` — with bounded concurrency and the route's faults (duplicates, random delays,
 * dropped events). Emits `change` whenever its stats change.
 */
export class Route extends EventEmitter<{ change: [] }> {
  private readonly stats: RouteStats = {
    received: 0,
    dropped: 0,
    delivered: 0,
    retried: 0,
    failed: 0,
    inFlight: 0,
    held: 0,
    responses: {},
    lastError: null,
  };
  private readonly semaphore: Semaphore;
  private closed = false;
  /** Pending waits (shuffle delays, backoffs): their timer and how to end them early. */
  private readonly waits = new Map<NodeJS.Timeout, () => void>();
  private readonly requests = new Set<ClientRequest>();
  /** Deliveries parked by `holdFailed`, resumed by {@link release}. */
  private readonly parked = new Set<() => void>();

  constructor(
    readonly spec: RouteSpec,
    private readonly delivery: DeliveryOptions,
  ) {
    super();
    this.semaphore = new Semaphore(delivery.concurrency);
  }

  /** A copy of the counters. */
  snapshot(): RouteStats {
    return { ...this.stats, responses: { ...this.stats.responses } };
  }

  /** True once `received >= minReceived` and every delivery settled or is parked (`holdFailed`). */
  isIdle(minReceived = 0): boolean {
    return this.stats.received >= minReceived && this.stats.inFlight === this.stats.held;
  }

  /** Resumes every delivery parked by `holdFailed`; returns how many. */
  release(): number {
    const parked = [...this.parked];
    this.parked.clear();
    for (const resume of parked) resume();
    return parked.length;
  }

  /** Accepts one event from the emulator; delivery happens in the background. */
  receive(event: ReceivedEvent): void {
    this.stats.received++;
    const faults = this.spec.faults ?? {};
    if (this.stats.received <= (faults.dropFirst ?? 0)) {
      this.stats.dropped++;
      this.changed();
      return;
    }
    const copies =
      faults.duplicate === true ? 2 : typeof faults.duplicate === 'number' ? faults.duplicate : 1;
    for (let copy = 0; copy < copies; copy++) {
      this.stats.inFlight++;
      const delayMs = faults.shuffle ? Math.floor(Math.random() * (faults.shuffle.maxDelayMs + 1)) : 0;
      this.deliver(event, delayMs)
        .catch((error: unknown) => {
          // deliver() answers failed sends itself; only an unexpected throw lands here.
          this.stats.failed++;
          this.stats.lastError = error instanceof Error ? error.message : String(error);
        })
        .finally(() => {
          this.stats.inFlight--;
          this.changed();
        });
    }
    this.changed();
  }

  /** Cancels every pending and running delivery. */
  close(): void {
    this.closed = true;
    for (const [timer, resolve] of this.waits) {
      clearTimeout(timer);
      resolve();
    }
    this.waits.clear();
    this.release();
    for (const req of this.requests) req.destroy(new Error('bridge stopped'));
  }

  private changed(): void {
    this.emit('change');
  }

  private wait(ms: number): Promise<void> {
    if (ms <= 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waits.delete(timer);
        resolve();
      }, ms);
      this.waits.set(timer, resolve);
    });
  }

  private async hold(): Promise<void> {
    this.stats.held++;
    this.changed();
    await new Promise<void>((resolve) => this.parked.add(resolve));
    this.stats.held--;
    this.changed();
  }

  private async deliver(event: ReceivedEvent, delayMs: number): Promise<void> {
    await this.wait(delayMs);
    const { maxAttempts, initialBackoffMs, maxBackoffMs } = this.delivery;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      if (this.closed) return;
      const outcome = await this.semaphore.run(() => this.send(event, attempt));
      if (outcome.ok) {
        this.stats.delivered++;
        return;
      }
      this.stats.lastError = outcome.error;
      if (attempt === maxAttempts || this.closed) break;
      this.stats.retried++;
      if (this.spec.faults?.holdFailed) {
        await this.hold();
        continue;
      }
      this.changed();
      const ceiling = Math.min(maxBackoffMs, initialBackoffMs * 2 ** (attempt - 1));
      await this.wait(ceiling / 2 + Math.random() * (ceiling / 2));
    }
    if (!this.closed) this.stats.failed++;
  }

  private send(event: ReceivedEvent, attempt: number): Promise<{ ok: true } | { ok: false; error: string }> {
    return new Promise((resolve) => {
      if (this.closed) {
        resolve({ ok: false, error: 'bridge stopped' });
        return;
      }
      const req = request(this.spec.target, {
        method: 'POST',
        headers: forwardHeaders(event.headers, event.body, attempt),
        timeout: this.delivery.attemptTimeoutMs,
      });
      this.requests.add(req);
      req.once('close', () => this.requests.delete(req));
      req.once('response', (res) => {
        const status = res.statusCode ?? 0;
        this.stats.responses[String(status)] = (this.stats.responses[String(status)] ?? 0) + 1;
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.once('end', () => {
          if (status >= 200 && status < 300) resolve({ ok: true });
          else {
            const text = Buffer.concat(chunks).toString('utf8').slice(0, 200);
            resolve({ ok: false, error: `HTTP ${status}${text ? `: ${text}` : ''}` });
          }
        });
        res.once('error', (error) => resolve({ ok: false, error: error.message }));
      });
      req.once('timeout', () =>
        req.destroy(new Error(`no answer within ${this.delivery.attemptTimeoutMs} ms`)),
      );
      req.once('error', (error) => resolve({ ok: false, error: error.message }));
      req.end(event.body);
    });
  }
}
