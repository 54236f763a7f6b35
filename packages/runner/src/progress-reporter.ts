/**
 * Throttles progress writes to one per `intervalMs` (Firestore sustains about one write per second
 * per document) while always writing the latest value eventually. Writes never overlap.
 */
export class ProgressReporter {
  private latest: { ratio: number; message: string | null } | undefined;
  private lastWriteAt = Number.NEGATIVE_INFINITY;
  private inFlight: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly write: (ratio: number, message: string | null) => Promise<void>,
    private readonly intervalMs: number,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Records the latest progress; writes now or at the end of the current interval. */
  report(ratio: number, message?: string): void {
    if (this.stopped || !Number.isFinite(ratio)) return;
    this.latest = { ratio: Math.min(1, Math.max(0, ratio)), message: message ?? null };
    this.schedule();
  }

  /** Writes what is pending now and waits for it. */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.inFlight;
    if (this.latest) await this.writeLatest();
  }

  /** Drops anything pending; later reports are ignored. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.latest = undefined;
  }

  private schedule(): void {
    if (this.inFlight || this.timer) return;
    const wait = this.lastWriteAt + this.intervalMs - performance.now();
    if (wait <= 0) {
      void this.writeLatest();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.writeLatest();
    }, wait);
    this.timer.unref();
  }

  private writeLatest(): Promise<void> {
    const value = this.latest;
    if (!value || this.stopped) return Promise.resolve();
    this.latest = undefined;
    this.lastWriteAt = performance.now();
    this.inFlight = this.write(value.ratio, value.message)
      .catch(this.onError)
      .finally(() => {
        this.inFlight = undefined;
        if (this.latest && !this.stopped) this.schedule();
      });
    return this.inFlight;
  }
}
