import { E11Error, ErrorCode, isE11Error } from '../errors.js';
import { type Logger } from '../logging.js';
import { type Store } from '../store/store.js';

/** A real-time view of one orchestration's `cancelRequested` and `paused` flags, held for a launch run. */
export interface CancelWatch {
  /**
   * Aborts once the orchestration's cancel is requested (reason `E11_CANCELLED`) or it is paused
   * (reason `E11_PAUSED`).
   */
  readonly signal: AbortSignal;
  /** Detaches the listener. Idempotent. */
  stop(): void;
}

/** Whether a launch run stopped for a cancel (its jobs are skipped) rather than a pause (they wait). */
export function stoppedByCancel(signal: AbortSignal): boolean {
  return signal.aborted && isE11Error(signal.reason, ErrorCode.Cancelled);
}

/**
 * Listens to the orchestration document so a launch run learns of `cancel()` or `pause()` at once,
 * wherever it was called, and stops sending requests. If the listener fails, launching goes on (each
 * task still finds its job Cancelled; a pause then stops only later launches); the failure is logged.
 */
export function watchCancelRequest(store: Store, orchestrationId: string, logger: Logger): CancelWatch {
  const controller = new AbortController();
  let unsubscribe: (() => void) | undefined;
  const stop = () => {
    unsubscribe?.();
    unsubscribe = undefined;
  };
  unsubscribe = store.collections.orchestration(orchestrationId).onSnapshot(
    (snapshot) => {
      if (controller.signal.aborted) return;
      const cancelled = snapshot.get('cancelRequested') === true;
      if (!cancelled && snapshot.get('paused') !== true) return;
      controller.abort(
        cancelled
          ? new E11Error(ErrorCode.Cancelled, `Orchestration ${orchestrationId} was cancelled.`, {
              context: { orchestrationId },
            })
          : new E11Error(ErrorCode.Paused, `Orchestration ${orchestrationId} was paused.`, {
              context: { orchestrationId },
            }),
      );
      stop();
    },
    (error) =>
      logger.warn(
        { orchestrationId, err: error },
        'lost the cancel listener of a launch run: launching goes on without it',
      ),
  );
  return { signal: controller.signal, stop };
}
