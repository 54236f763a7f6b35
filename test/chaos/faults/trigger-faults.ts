import { type RouteFaults, setBridgeRoute } from '@e11/emulators';

import type { ChaosStack } from '../chaos-stack.js';

import { type Fault, outage } from './fault.js';

let active = false;

function route(chaos: ChaosStack, faults?: RouteFaults) {
  return setBridgeRoute(chaos.stack.bridgeUrl, {
    projectId: chaos.projectId,
    triggerId: chaos.stack.trigger.triggerId,
    target: chaos.stack.functions.url,
    ...(faults ? { faults } : {}),
  });
}

/**
 * For a while the trigger delivers every change twice or three times, out of order, or drops the
 * first few (replacing the route also abandons the deliveries in flight: lost triggers).
 */
export const triggerFaults: Fault = {
  name: 'trigger-faults',
  async inject({ chaos, random }) {
    if (active) return null;
    active = true;
    try {
      const faults: RouteFaults = random.pick<RouteFaults>([
        { duplicate: random.int(2, 3) },
        { shuffle: { maxDelayMs: random.int(100, 1_000) } },
        { duplicate: 2, shuffle: { maxDelayMs: random.int(100, 1_000) } },
        { dropFirst: random.int(1, 5) },
      ]);
      const ms = random.int(1_000, 5_000);
      await route(chaos, faults);
      await outage(ms);
      await route(chaos);
      return `trigger ${JSON.stringify(faults)} for ${ms} ms`;
    } finally {
      active = false;
    }
  },
  async heal({ chaos }) {
    await route(chaos);
  },
};
