import { DEFAULTS } from '../defaults.js';
import type { ExecutionState, TaskLauncher } from '../launch/task-launcher.js';
import { type JobDoc, type JobErrorInfo, type OrchestrationDoc } from '../model/documents.js';
import { attemptsInEpoch, crashedError } from '../store/claim-job.js';

/**
 * What the sweeper does with a `Pending` job: the rules of a lost launch. A launch counts like an
 * attempt: a job whose every launch ended without a task finishing it is dead-lettered once its launches
 * reach its attempt budget, instead of being launched again forever.
 */
export type PendingDecision =
  { action: 'wait' } | { action: 'relaunch' } | { action: 'dead-letter'; error: JobErrorInfo };

/** The orchestration's launch state, read once per sweep of it. */
export interface LaunchState {
  orchestration: OrchestrationDoc;
  /** The kick-off (or retryFailed) that launches the jobs died: it neither finished nor heartbeated. */
  launcherGone: boolean;
  /** Now, minus `pendingTimeoutMs`: without a way to ask Cloud Run, a launch older than this is lost. */
  timeoutBeforeMs: number;
  /** The state of an execution (cached per sweep); undefined when unknown, `'error'` when unreadable. */
  describe: (executionName: string) => Promise<ExecutionState | undefined | 'error'>;
  /** Whether the launcher can tell an execution's state at all. */
  canDescribe: boolean;
}

/** The array-mode executions that ran (or run) job `index`: every one for orchestrations of earlier releases. */
function arrayExecutionsOf(orchestration: OrchestrationDoc, index: number): string[] {
  if (orchestration.arrayLaunches.length === 0) return orchestration.executions;
  return orchestration.arrayLaunches
    .filter((launch) => index >= launch.first && index < launch.first + launch.count)
    .map((launch) => launch.executionName);
}

/** Whether the job's array-mode launches are those of the orchestration (jobs without a document live in epoch 1). */
export function launchedAsArray(orchestration: OrchestrationDoc, job: Pick<JobDoc, 'epoch'>): boolean {
  return orchestration.mode === 'array' && job.epoch === 1;
}

/** Launches of the job in its current epoch: its own per-job launches plus the array executions covering it. */
export function launchesOf(orchestration: OrchestrationDoc, job: JobDoc): number {
  const array = launchedAsArray(orchestration, job) ? arrayExecutionsOf(orchestration, job.index).length : 0;
  return job.launches + array;
}

/** The executions that may still run the job: its own latest per-job launch and the array ones covering it. */
function executionsOf(orchestration: OrchestrationDoc, job: JobDoc): string[] {
  const names = new Set<string>();
  if (job.executionName?.includes('/executions/')) names.add(job.executionName);
  if (launchedAsArray(orchestration, job)) {
    for (const name of arrayExecutionsOf(orchestration, job.index)) names.add(name);
  }
  return [...names];
}

/** The job's attempt budget: what its task recorded at claim, else the kick-off's, else the default. */
export function attemptBudget(orchestration: OrchestrationDoc, job: JobDoc): number {
  return job.maxAttempts ?? orchestration.policy.maxAttempts ?? DEFAULTS.maxAttempts;
}

/**
 * Decides for one `Pending` job (stored, or without a document yet) that is not fresh:
 * - never launched in its epoch: it waits for its launcher (kick-off or retryFailed), unless that one
 *   died, or finished long ago (`pendingTimeoutMs`) without launching it;
 * - launched (or released by an interrupted or crashed attempt): while an execution that may run it is
 *   queued or running, it waits (Cloud Run's own task retries go first; no duplicate); once they all
 *   ended, the launch was lost: launched again while launches stay below the attempt budget, else
 *   dead-lettered with the cause. A launcher that cannot describe executions falls back on
 *   `pendingTimeoutMs` since the job's last change.
 */
export async function decidePending(state: LaunchState, job: JobDoc): Promise<PendingDecision> {
  const { orchestration } = state;
  const launches = launchesOf(orchestration, job);
  const attempts = attemptsInEpoch(job);
  const waitedLong = job.updatedAt.toMillis() < state.timeoutBeforeMs;
  if (launches === 0 && attempts === 0) {
    // With maxParallel, admissions after the kick-off launch too: only their silence (launcherGone) counts.
    const launchDone = orchestration.launchCompletedAt !== null && orchestration.admitted === null;
    // An admission that could not launch it handed it over (launchDeferredAt): launched at once.
    const handedOver = job.launchDeferredAt !== null;
    return state.launcherGone || handedOver || (launchDone && waitedLong)
      ? { action: 'relaunch' }
      : { action: 'wait' };
  }
  const executions = executionsOf(orchestration, job);
  let ended: ExecutionState | undefined;
  if (state.canDescribe && executions.length > 0) {
    const states = await Promise.all(executions.map((name) => state.describe(name)));
    if (states.some((s) => s === 'error' || (s !== undefined && !s.done))) return { action: 'wait' };
    ended = states.find((s): s is ExecutionState => s !== undefined);
    // Every execution unknown (another process's local launcher, or pruned): fall back on the timeout.
    if (!ended && !waitedLong) return { action: 'wait' };
  } else if (attempts === 0 && !waitedLong) {
    return { action: 'wait' };
  }
  if (launches < attemptBudget(orchestration, job)) return { action: 'relaunch' };
  const cause = ended?.message ? ` The last execution ended with: ${ended.message}` : '';
  const what = attempts === 0 ? 'no task claimed the job' : `its ${attempts} attempt(s) did not finish`;
  return {
    action: 'dead-letter',
    error: {
      ...crashedError(
        job,
        `Launched ${launches} time(s); ${what} (the container failed before claiming it, or was lost).${cause}`,
      ),
      retryable: false,
    },
  };
}

/** A per-sweep cache of execution states, so each execution is read once per pass. */
export function executionStates(
  launcher: TaskLauncher,
): (executionName: string) => Promise<ExecutionState | undefined | 'error'> {
  const cache = new Map<string, Promise<ExecutionState | undefined | 'error'>>();
  return (name) => {
    let found = cache.get(name);
    if (!found) {
      found = launcher.describe
        ? launcher.describe(name).catch(() => 'error' as const)
        : Promise.resolve(undefined);
      cache.set(name, found);
    }
    return found;
  };
}
