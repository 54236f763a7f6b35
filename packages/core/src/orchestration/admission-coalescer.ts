import type { StatusCounts } from '../model/status.js';

import type { AdmitReport } from './admit.js';

/** Jobs that ended, by a completion check's counts. */
const ended = (counts: StatusCounts): number => counts.completed + counts.errored + counts.cancelled;

/**
 * The counts a shared admission starts from: none (the admission reads them itself) if a caller had
 * none, else the latest, i.e. those with the most ended jobs (ended counts only grow while admission
 * goes on; older counts can only under-admit).
 */
function latest(a: StatusCounts | undefined, b: StatusCounts | undefined): StatusCounts | undefined {
  if (a === undefined || b === undefined) return undefined;
  return ended(b) >= ended(a) ? b : a;
}

/** The run that callers arriving during an admission share, and the counts it will start from. */
interface Queued {
  counts: StatusCounts | undefined;
  run: Promise<AdmitReport>;
}

/**
 * One admission at a time per orchestration in this process: a call that arrives while one runs
 * waits for it, then shares ONE fresh admission with every other call that arrived meanwhile, started
 * from the latest counts any of them brought. Each caller still gets an admission that started after
 * it arrived (it sees the end that triggered it), while N job ends delivered at once cost two
 * admissions, not N (N reads and conditioned writes of one orchestration document that mostly lose
 * their race and read again). Across processes the conditioned write still decides.
 */
export function createAdmissionCoalescer(
  admit: (orchestrationId: string, counts: StatusCounts | undefined) => Promise<AdmitReport>,
): (orchestrationId: string, counts: StatusCounts | undefined) => Promise<AdmitReport> {
  const running = new Map<string, Promise<AdmitReport>>();
  const queued = new Map<string, Queued>();
  const start = (orchestrationId: string, counts: StatusCounts | undefined): Promise<AdmitReport> => {
    const run = admit(orchestrationId, counts).finally(() => {
      if (running.get(orchestrationId) === run) running.delete(orchestrationId);
    });
    running.set(orchestrationId, run);
    return run;
  };
  return (orchestrationId, counts) => {
    const next = queued.get(orchestrationId);
    if (next) {
      next.counts = latest(next.counts, counts);
      return next.run;
    }
    const current = running.get(orchestrationId);
    if (!current) return start(orchestrationId, counts);
    const settled = () => undefined;
    const entry = { counts } as Queued;
    entry.run = current.then(settled, settled).then(() => {
      queued.delete(orchestrationId);
      return start(orchestrationId, entry.counts);
    });
    queued.set(orchestrationId, entry);
    return entry.run;
  };
}
