// The watchdog thread (see heartbeat-watchdog.ts). It loads nothing heavy until the job's event loop
// has been blocked for a heartbeat interval; then it creates its own Firestore client and writes the
// (claim-fenced) heartbeat the blocked thread cannot write.
import { parentPort, workerData } from 'node:worker_threads';

// Types only: the module itself is imported when the job thread first blocks.
import type { Store } from '@e11/core';

import { Slot, sinceBase } from './heartbeat-clock.js';
import type { WatchdogData, WatchdogMessage } from './heartbeat-watchdog.js';

const data = workerData as WatchdogData;
const slots = new Int32Array(data.shared);
const checkMs = Math.max(25, Math.floor(data.intervalMs / 4));
let store: Promise<Store> | undefined;
let busy = false;

function post(message: WatchdogMessage): void {
  parentPort?.postMessage(message);
}

/** The Firestore client and store of this thread, created at the first block (loading takes a second or more). */
function storeOnce(): Promise<Store> {
  store ??= import('@e11/core').then(
    (core) =>
      core.createStore({
        firestore: core.createFirestore(data.client),
        collectionPrefix: data.collectionPrefix,
      }),
    (error: unknown) => {
      store = undefined; // loading failed: try again at the next block
      throw error;
    },
  );
  return store;
}

/** While the job thread is blocked: load the client, then write the heartbeat once an interval has passed. */
async function watch(): Promise<void> {
  const ready = await storeOnce();
  if (sinceBase(data.base) - Atomics.load(slots, Slot.beat) < data.intervalMs) return;
  const { recordHeartbeat } = await import('@e11/core');
  const outcome = await recordHeartbeat(ready, data.job);
  if (outcome === 'recorded') {
    Atomics.store(slots, Slot.beat, sinceBase(data.base));
    post({ type: 'beat' });
  } else {
    post({ type: 'lost', outcome });
    clearInterval(timer);
  }
}

const timer = setInterval(() => {
  if (busy) return;
  // Blocked: the job thread's ticks (every quarter interval) stopped for half an interval.
  if (sinceBase(data.base) - Atomics.load(slots, Slot.alive) < data.intervalMs / 2) return;
  busy = true;
  watch().then(
    () => (busy = false),
    (error: unknown) => {
      busy = false;
      post({ type: 'error', message: error instanceof Error ? error.message : String(error) });
    },
  );
}, checkMs);
