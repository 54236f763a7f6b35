/**
 * Runs a task at most once at a time per key. A call that arrives while a run is in progress
 * waits for it to end and then shares ONE fresh run with every other call that arrived meanwhile; so
 * each caller still gets a run that started after it arrived (it sees every write made before its
 * call), while N simultaneous callers cost two runs, not N.
 *
 * Callers of one key must pass equivalent tasks: a shared run is the task of the caller that started it.
 *
 * Used for completion checks: when the last jobs of an orchestration finish, many deliveries arrive at
 * once, and N concurrent marker transactions on the same two documents only contend and back off
 * (measured on the emulator: 24 at once took 3.6 s, one at a time 0.1 s). Across processes the
 * transaction still decides; this only removes the contention inside one.
 */
export function createCoalescer<T>(): (key: string, task: () => Promise<T>) => Promise<T> {
  const running = new Map<string, Promise<T>>();
  const queued = new Map<string, Promise<T>>();
  const noop = () => undefined;

  const start = (key: string, task: () => Promise<T>): Promise<T> => {
    const run: Promise<T> = task().finally(() => {
      if (running.get(key) === run) running.delete(key);
    });
    running.set(key, run);
    return run;
  };

  return (key, task) => {
    const next = queued.get(key);
    if (next) return next;
    const current = running.get(key);
    if (!current) return start(key, task);
    const later = current.then(noop, noop).then(() => {
      queued.delete(key);
      return start(key, task);
    });
    queued.set(key, later);
    return later;
  };
}
