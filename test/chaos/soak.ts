// `npm run chaos -- --minutes 10 [--seed N]`: the chaos soak, on its own emulators (the E11_*_PORT
// variables choose their ports). Runs with Node's type stripping; exits non-zero when an invariant fails.
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { minutes: { type: 'string', default: '10' }, seed: { type: 'string' } },
  strict: true,
});
const minutes = Number(values.minutes);
const seed = values.seed ?? process.env.E11_CHAOS_SEED ?? String(Math.floor(Math.random() * 1_000_000));
if (!Number.isFinite(minutes) || minutes <= 0 || !/^\d+$/.test(seed)) {
  console.error('usage: npm run chaos -- [--minutes N] [--seed N]');
  process.exit(2);
}
console.log(`chaos soak: ${minutes} minute(s), seed ${seed} (replay with --seed ${seed})`);
const result = spawnSync('vitest', ['run', '--config', 'vitest.chaos.config.ts'], {
  stdio: 'inherit',
  env: { ...process.env, E11_CHAOS_SEED: seed, E11_CHAOS_MINUTES: String(minutes) },
});
process.exit(result.status ?? 1);
