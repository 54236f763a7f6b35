/** Slots of the buffer the job's thread and the watchdog thread share. */
export const Slot = {
  /** When the job's event loop last ran (ms since `base`): it ticks every quarter interval. */
  alive: 0,
  /** When the job document last got a heartbeat (ms since `base`), written by either thread. */
  beat: 1,
} as const;

/**
 * When the job document last got a heartbeat — the monitor's own, the watchdog thread's, or a progress
 * or checkpoint write, which carry `heartbeatAt` too — and when the job's event loop last ran. Both
 * live in a SharedArrayBuffer (read and written with Atomics), so the watchdog thread sees them while
 * the job's event loop is blocked. Times are milliseconds since `base` (int32: 24 days).
 */
export class HeartbeatClock {
  readonly shared = new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT * 2);
  /** The common time origin (epoch ms) of both threads' clocks. */
  readonly base = Math.floor(performance.timeOrigin + performance.now());
  private readonly slots = new Int32Array(this.shared);

  constructor() {
    Atomics.store(this.slots, Slot.beat, -1_000_000_000);
    this.alive();
  }

  /** Milliseconds since `base`. */
  now(): number {
    return sinceBase(this.base);
  }

  /** A heartbeat was written just now. */
  mark(): void {
    Atomics.store(this.slots, Slot.beat, this.now());
  }

  /** When the last heartbeat was written (ms since `base`). */
  lastBeat(): number {
    return Atomics.load(this.slots, Slot.beat);
  }

  /** The job's event loop is running. */
  alive(): void {
    Atomics.store(this.slots, Slot.alive, this.now());
  }
}

/** Milliseconds since `base` on this thread's clock (the same wall clock in every thread). */
export function sinceBase(base: number): number {
  return Math.round(performance.timeOrigin + performance.now() - base);
}
