import { DEFAULTS } from '../defaults.js';

/** A listener's backstop: see {@link quietRecheck}. */
export interface QuietRecheck {
  /** The listener delivered a snapshot: the quiet spell starts again, from its first length. */
  heard(): void;
  /** No more re-reads. Idempotent. */
  stop(): void;
}

/**
 * Re-reads what a real-time listener watches after a quiet spell without a snapshot (the first one
 * included: it starts now), and again after each further spell, each `growth` times longer than the
 * last, up to a minute: the Firestore emulator has been seen not to deliver a change, or even a first
 * snapshot, to a listener (it skips listeners when a closed one is in its way). `reread` settles the
 * way the caller wants (its rejections are its own); a snapshot calls `heard()`.
 */
export function quietRecheck(
  reread: () => Promise<unknown>,
  options: { growth?: number } = {},
): QuietRecheck {
  const growth = options.growth ?? 2;
  let spellMs: number = DEFAULTS.resultsRecheckMs;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const schedule = () => {
    if (timer) clearTimeout(timer);
    if (stopped) return;
    timer = setTimeout(() => {
      reread()
        .catch(() => undefined)
        .finally(() => {
          spellMs = Math.min(spellMs * growth, 60_000);
          schedule();
        });
    }, spellMs);
    timer.unref();
  };
  schedule();
  return {
    heard() {
      spellMs = DEFAULTS.resultsRecheckMs;
      schedule();
    },
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
