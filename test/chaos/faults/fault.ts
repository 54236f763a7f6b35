import type { ChaosConfig } from '../chaos-config.js';
import type { ChaosStack } from '../chaos-stack.js';
import type { Random } from '../random.js';
import type { Expected } from '../workload.js';

/** What a fault acts on. */
export interface FaultTarget {
  chaos: ChaosStack;
  config: ChaosConfig;
  random: Random;
  expected: Expected;
}

/**
 * One kind of fault, injected from outside the product code. `inject` resolves once the fault is over
 * (a window closed, a server back up, a process dead) with a short description, or null when there was
 * nothing to act on (no running task to kill). `heal` ends whatever is still in effect.
 */
export interface Fault {
  readonly name: string;
  inject(target: FaultTarget): Promise<string | null>;
  heal?(target: FaultTarget): Promise<void>;
}

/** Waits `ms`: the length of an outage or a window, which is the fault itself, not a synchronisation. */
export function outage(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
