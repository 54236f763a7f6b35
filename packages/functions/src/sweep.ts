import { createLogger, type Logger } from '@e11/core';
import type { Engine, SweepReport } from '@e11/core/engine';
import type { Request, Response } from '@google-cloud/functions-framework';

/** What the `sweep` handler talks to. */
export interface SweepDeps {
  /**
   * Runs the pass (an engine, or the sdk's `OrchestrationService`, which has the same methods).
   * @default an `Engine` from the environment (GOOGLE_CLOUD_PROJECT, E11_REGION, E11_COLLECTION_PREFIX, E11_FIRESTORE_DATABASE), created on the first request
   */
  service?: Pick<Engine, 'sweep' | 'close'>;
  /** Delete ended orchestrations older than this many days on each sweep. @default E11_RETENTION_DAYS, or off */
  retentionDays?: number;
  logger?: Logger;
}

/** An HTTP function with a way to close the clients it created. */
export interface SweepHandler {
  (req: Request, res: Response): Promise<void>;
  close(): Promise<void>;
}

/**
 * Builds the `sweep` HTTP function that Cloud Scheduler calls every minute: one maintenance pass —
 * crashed tasks (stale heartbeat) relaunched or dead-lettered, lost launches relaunched, orchestrations
 * past their deadline cancelled, lost triggers reconciled (exactly one event per end), failed publishes
 * retried, and (with a retention setting) old orchestrations deleted. Answers 200 with the SweepReport,
 * 405 for anything but POST, 500 (logged) when the pass failed — the next minute's call tries again.
 */
export function createSweepHandler(deps: SweepDeps = {}): SweepHandler {
  const logger = deps.logger ?? createLogger('e11-functions', { level: process.env.E11_LOG_LEVEL ?? 'info' });
  const retention =
    deps.retentionDays ??
    (process.env.E11_RETENTION_DAYS ? Number(process.env.E11_RETENTION_DAYS) : undefined);
  let owned: Promise<Pick<Engine, 'sweep' | 'close'>> | undefined;
  const serviceFor = () => {
    if (deps.service) return Promise.resolve(deps.service);
    // The engine (Cloud Run client) loads on the first call only.
    owned ??= import('@e11/core/engine').then(({ createEngine }) => createEngine({ logger }));
    return owned;
  };
  const handler = async (req: Request, res: Response): Promise<void> => {
    if (req.method !== 'POST') {
      res.status(405).set('Allow', 'POST').type('text/plain').send('Use POST.\n');
      return;
    }
    try {
      const service = await serviceFor();
      const report: SweepReport = await service.sweep(
        retention === undefined ? {} : { retentionDays: retention },
      );
      logger.info({ report }, 'Sweep done');
      res.status(200).json(report);
    } catch (error) {
      logger.error({ err: error }, 'Sweep failed; the next scheduled call tries again');
      res
        .status(500)
        .type('text/plain')
        .send(`${error instanceof Error ? error.message : String(error)}\n`);
    }
  };
  return Object.assign(handler, {
    async close() {
      if (owned) await (await owned).close();
    },
  });
}
