import { DEFAULTS } from '../defaults.js';
import { executionStates } from '../maintenance/pending-jobs.js';
import { launchWaitingJobs } from '../maintenance/sweeper.js';
import { concurrencyKeyId } from '../model/collections.js';
import { isTerminal } from '../model/status.js';
import { doneAdmitting } from '../store/admission.js';
import { markLaunchCompleted } from '../store/launch-records.js';
import { loadOrchestration } from '../store/orchestration-docs.js';
import { setKeyPaused, setPaused } from '../store/pause.js';

import { admitAndLaunch, admitKeyAndLaunch } from './admit.js';
import type { LaunchContext } from './launch-jobs.js';
import { validateKeyName } from './options.js';

/** What `pause()` did. */
export interface PauseResult {
  /** True when the orchestration is paused now; false when it had ended (or was being cancelled). */
  paused: boolean;
}

/** What `resume()` did. */
export interface ResumeResult {
  /** True when it was paused and is not any more. */
  resumed: boolean;
  /** Jobs launched by this call: those the pause held back, and launches lost meanwhile. */
  launched: number;
}

/**
 * Pauses an orchestration: every launch run of it (its kick-off's, a retryFailed's, a sweep's) stops
 * sending requests at once, wherever it runs, and leaves the jobs it did not launch `Pending`; nothing
 * new launches until {@link resumeOrchestration}. Running jobs go on and finish. Idempotent; an
 * orchestration that ended (or is being cancelled) is left alone. Throws `E11_UNKNOWN_ORCHESTRATION`
 * for one the store cannot see.
 */
export async function pauseOrchestration(
  context: LaunchContext,
  orchestrationId: string,
): Promise<PauseResult> {
  const orchestration = await loadOrchestration(context.store, orchestrationId);
  if (isTerminal(orchestration.status) || orchestration.cancelRequested) return { paused: false };
  await setPaused(context.store, orchestrationId, true);
  return { paused: true };
}

/**
 * Resumes a paused orchestration and launches at once what the pause held back: its jobs never
 * launched, and launches lost meanwhile (the sweeper's rules, with the stopped launch run counted as
 * gone). A job whose launch cannot be sent now stays `Pending` for the sweeper, as after a kick-off.
 */
export async function resumeOrchestration(
  context: LaunchContext,
  orchestrationId: string,
): Promise<ResumeResult> {
  const { store } = context;
  const before = await loadOrchestration(store, orchestrationId);
  if (!before.paused) return { resumed: false, launched: 0 };
  await setPaused(store, orchestrationId, false);
  // Read again: a pause() or cancel() since is the newer word.
  const orchestration = await loadOrchestration(store, orchestrationId);
  if (orchestration.paused || orchestration.cancelRequested || isTerminal(orchestration.status)) {
    return { resumed: !orchestration.paused, launched: 0 };
  }
  const nowMs = store.clock.now();
  // Not started yet: its start launches it (the backend's timer, else the sweeper), not this call.
  if ((orchestration.startAt?.toMillis() ?? 0) > nowMs) return { resumed: true, launched: 0 };
  const outcome = await launchWaitingJobs(context, {
    orchestration,
    launcherGone: true,
    timeoutBeforeMs: nowMs - DEFAULTS.pendingTimeoutMs,
    describe: executionStates(context.launcher),
    canDescribe: context.launcher.describe !== undefined,
    // Every Pending job (server times may run a little ahead of this clock).
    writtenBeforeMs: nowMs + 60_000,
  });
  // With maxParallel: the slots the pause left free.
  const admission = doneAdmitting(orchestration) ? undefined : await admitAndLaunch(context, orchestrationId);
  // Like a kick-off's end of launch; failing to say so only leaves the jobs to the sweeper's timeout.
  await markLaunchCompleted(store, orchestrationId).catch((error: unknown) =>
    context.logger.warn({ orchestrationId, err: error }, 'could not mark the launch complete after resume()'),
  );
  return { resumed: true, launched: outcome.relaunched + (admission?.launch?.launched ?? 0) };
}

/**
 * Pauses a concurrency key (of the store's tenant): no admission gives its slots, to any orchestration
 * sharing it, until {@link resumeKey}; running jobs go on and finish, and kick-offs naming it wait.
 * `paused: false` when no kick-off named the key yet. Idempotent.
 */
export async function pauseKey(context: LaunchContext, key: string): Promise<PauseResult> {
  const keyId = concurrencyKeyId(context.store.tenant, validateKeyName(key));
  return { paused: await setKeyPaused(context.store, keyId, true) };
}

/** Resumes a paused concurrency key and fills the slots the pause left free at once. */
export async function resumeKey(context: LaunchContext, key: string): Promise<ResumeResult> {
  const keyId = concurrencyKeyId(context.store.tenant, validateKeyName(key));
  if (!(await setKeyPaused(context.store, keyId, false))) return { resumed: false, launched: 0 };
  const admission = await admitKeyAndLaunch(context, keyId);
  return { resumed: true, launched: admission.launch?.launched ?? 0 };
}
