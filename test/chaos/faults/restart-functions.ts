import { type Fault, outage } from './fault.js';

let down = false;

/**
 * When the functions server was SIGKILLed (epoch ms, taken once the kill returned): a publisher killed
 * between a publish and its record is the one way E11 sends a second message for an end (README).
 */
export const functionsKilledAt: number[] = [];

/** SIGKILLs the functions server (deliveries fail meanwhile), then starts it again after a while. */
export const restartFunctions: Fault = {
  name: 'restart-functions',
  async inject({ chaos, random, config }) {
    if (down) return null;
    down = true;
    try {
      const ms = random.int(0, config.functionsDownMaxMs);
      await chaos.stack.functions.kill('SIGKILL');
      functionsKilledAt.push(Date.now());
      await outage(ms);
      await chaos.stack.functions.restart();
      return `functions server SIGKILLed, down for ${ms} ms`;
    } finally {
      down = false;
    }
  },
  async heal({ chaos }) {
    if (!chaos.stack.functions.running) await chaos.stack.functions.restart();
  },
};
