import type { CloudRunEmulatorFaults, RejectionCode } from './interfaces.js';

/** A kill scheduled for the next task attempt that starts. */
export interface PendingKill {
  afterMs: number;
  signal: NodeJS.Signals;
}

function assertRejectionCode(what: string, code: RejectionCode): void {
  if (code !== 'RESOURCE_EXHAUSTED' && code !== 'UNAVAILABLE') {
    throw new RangeError(`${what} code must be RESOURCE_EXHAUSTED or UNAVAILABLE, got ${String(code)}`);
  }
}

function assertNonNegativeInteger(what: string, value: number): void {
  if (!Number.isInteger(value) || value < 0)
    throw new RangeError(`${what} must be a non-negative integer, got ${value}`);
}

/**
 * The fault state behind {@link CloudRunEmulatorFaults}. The server and the scheduler consume it with
 * the `take*` methods; tests set it through the public interface.
 */
export class FaultInjector implements CloudRunEmulatorFaults {
  private rejections = 0;
  private rejectionCode: RejectionCode = 'UNAVAILABLE';
  /** End (epoch ms) of the time window of {@link rejectRunsFor}, and its code. */
  private windowUntil = 0;
  private windowCode: RejectionCode = 'RESOURCE_EXHAUSTED';
  private startDelay = 0;
  private pendingKill: PendingKill | undefined;

  constructor(
    private readonly killRunningTask: (
      executionName: string,
      taskIndex: number,
      signal: NodeJS.Signals,
    ) => Promise<boolean>,
    private readonly now: () => number = Date.now,
  ) {}

  rejectNextRuns(count: number, code: RejectionCode): void {
    assertNonNegativeInteger('rejectNextRuns count', count);
    assertRejectionCode('rejectNextRuns', code);
    this.rejections = count;
    this.rejectionCode = code;
  }

  rejectRunsFor(ms: number, code: RejectionCode): void {
    assertNonNegativeInteger('rejectRunsFor ms', ms);
    assertRejectionCode('rejectRunsFor', code);
    this.windowUntil = ms === 0 ? 0 : this.now() + ms;
    this.windowCode = code;
  }

  delayStart(ms: number): void {
    assertNonNegativeInteger('delayStart ms', ms);
    this.startDelay = ms;
  }

  killTask(executionName: string, taskIndex: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<boolean> {
    return this.killRunningTask(executionName, taskIndex, signal);
  }

  killNextTaskAfter(ms: number, signal: NodeJS.Signals = 'SIGKILL'): void {
    assertNonNegativeInteger('killNextTaskAfter ms', ms);
    this.pendingKill = { afterMs: ms, signal };
  }

  clear(): void {
    this.rejections = 0;
    this.windowUntil = 0;
    this.startDelay = 0;
    this.pendingKill = undefined;
  }

  /** Consumes one pending RunJob rejection, if any; otherwise the open time window's code, if any. */
  takeRunRejection(): RejectionCode | undefined {
    if (this.rejections > 0) {
      this.rejections -= 1;
      return this.rejectionCode;
    }
    if (this.now() < this.windowUntil) return this.windowCode;
    return undefined;
  }

  /** The delay before each new task process starts. */
  get startDelayMs(): number {
    return this.startDelay;
  }

  /** Consumes the kill scheduled for the next task attempt, if any. */
  takeNextKill(): PendingKill | undefined {
    const kill = this.pendingKill;
    this.pendingKill = undefined;
    return kill;
  }
}
