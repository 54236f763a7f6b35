/**
 * Every Firestore real-time listener the monitoring code attaches goes through {@link trackListener},
 * so a test (or a health endpoint) can check that unsubscribing really detached them: a leaked
 * listener keeps a gRPC stream open and bills a read for every change it is sent.
 */

let active = 0;

/** Firestore real-time listeners attached by the monitoring module (watch, watchJobs, SSE) and still open. */
export function activeListenerCount(): number {
  return active;
}

/**
 * Attaches a listener (`attach` returns Firestore's unsubscribe function) and counts it until the
 * returned function is called. The returned function is idempotent.
 */
export function trackListener(attach: () => () => void): () => void {
  const unsubscribe = attach();
  active++;
  let detached = false;
  return () => {
    if (detached) return;
    detached = true;
    active--;
    unsubscribe();
  };
}
