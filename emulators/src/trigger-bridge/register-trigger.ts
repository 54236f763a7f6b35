import { Collections, DEFAULTS } from '@e11/core';

import { StackError } from '../errors.js';

import type { RouteFaults, RouteSpec, RouteStats } from './interfaces.js';

/**
 * The event type of the job trigger, as deploy/deploy.sh deploys it: every write of a job document (its
 * first write, at claim or when it ends unstarted, is a creation).
 */
export const JOB_TRIGGER_EVENT_TYPE = 'google.cloud.firestore.document.v1.written';

/** Options for {@link registerJobTrigger}. */
export interface RegisterJobTriggerOptions {
  /** `host:port` of the Firestore emulator (started with `--functions_emulator` at the bridge). */
  firestoreHost: string;
  /** URL of the trigger bridge. */
  bridgeUrl: string;
  projectId: string;
  /** @default DEFAULTS.collectionPrefix */
  collectionPrefix?: string;
  /** The Firestore database whose job writes trigger the function (as Eventarc's `database` filter). @default DEFAULTS.firestoreDatabase */
  databaseId?: string;
  /** URL of the Functions Framework server that runs `onJobWritten`. */
  target: string;
  /** @default `on-job-written-{prefix}`, or `on-job-written-{database}-{prefix}` for a named database */
  triggerId?: string;
  faults?: RouteFaults;
}

/** Options of {@link RegisteredTrigger.waitForIdle}. */
export interface WaitForIdleOptions {
  /** Wait until at least this many events reached the bridge. @default 0 */
  minReceived?: number;
  /** @default 30000 */
  timeoutMs?: number;
}

/** A trigger registered on the emulator and routed through the bridge. */
export interface RegisteredTrigger {
  readonly projectId: string;
  readonly triggerId: string;
  /** The Firestore database the trigger listens to. */
  readonly databaseId: string;
  /** The Eventarc document pattern, e.g. `e11_orchestrations/{orchestrationId}/jobs/{jobId}`. */
  readonly documentPattern: string;
  /** The route's counters. */
  stats(): Promise<RouteStats>;
  /**
   * Resolves with the counters once `minReceived` events reached the bridge and every delivery settled
   * (delivered or given up); rejects when that does not happen within `timeoutMs`.
   */
  waitForIdle(options?: WaitForIdleOptions): Promise<RouteStats>;
  /** Resumes the deliveries parked by the `holdFailed` fault; resolves with how many. */
  release(): Promise<number>;
  /** Removes the route from the bridge (later events of the trigger get 404 there). */
  unroute(): Promise<void>;
}

async function expectOk(response: Response, what: string): Promise<void> {
  if (response.ok) return;
  const text = await response.text().catch(() => '');
  throw new StackError(
    'E11_STACK_START_FAILED',
    `${what} failed: HTTP ${response.status} ${text.slice(0, 300)}`,
  );
}

const routePath = (projectId: string, triggerId: string) =>
  `/_e11/routes/${encodeURIComponent(projectId)}/${encodeURIComponent(triggerId)}`;

/** Sets the route of one trigger on a running bridge (over HTTP, so it works from any process). */
export async function setBridgeRoute(bridgeUrl: string, spec: RouteSpec): Promise<void> {
  const response = await fetch(new URL('/_e11/routes', bridgeUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(spec),
  });
  await expectOk(response, `Routing trigger ${spec.triggerId} of ${spec.projectId} on the bridge`);
}

/** The counters of one route of a running bridge; with `waitIdle`, answered once the route is idle. */
export async function fetchRouteStats(
  bridgeUrl: string,
  projectId: string,
  triggerId: string,
  waitIdle?: WaitForIdleOptions,
): Promise<RouteStats & { idle: boolean }> {
  const url = new URL(`${routePath(projectId, triggerId)}/stats`, bridgeUrl);
  if (waitIdle) {
    url.searchParams.set('waitIdle', '1');
    url.searchParams.set('minReceived', String(waitIdle.minReceived ?? 0));
    url.searchParams.set('timeoutMs', String(waitIdle.timeoutMs ?? 30_000));
  }
  const response = await fetch(url);
  await expectOk(response, `Reading the stats of trigger ${triggerId}`);
  return (await response.json()) as RouteStats & { idle: boolean };
}

/**
 * Makes Firestore job writes of one project reach a function, as Eventarc does in production:
 * routes the trigger on the bridge (first, so no event arrives unrouted), then registers the
 * `google.cloud.firestore.document.v1.written` trigger on `{prefix}orchestrations/{o}/jobs/{j}` with
 * the Firestore emulator, which then posts every update of a job document to the bridge (not the
 * creations at registration, nor the deletions, which the function has nothing to do for).
 */
export async function registerJobTrigger(options: RegisterJobTriggerOptions): Promise<RegisteredTrigger> {
  const prefix = options.collectionPrefix ?? DEFAULTS.collectionPrefix;
  // Only the path helpers of Collections are used here: no Firestore client is needed.
  const documentPattern = new Collections(undefined as never, prefix).jobDocumentPattern;
  const databaseId = options.databaseId ?? DEFAULTS.firestoreDatabase;
  // One trigger per database and prefix: the emulator keys triggers by id, so the ids must differ.
  const databasePart = databaseId === DEFAULTS.firestoreDatabase ? '' : `${databaseId}-`;
  const triggerId =
    options.triggerId ??
    `on-job-written-${databasePart}${prefix.replace(/[^A-Za-z0-9-]/g, '') || 'unprefixed'}`;
  const { projectId, bridgeUrl } = options;
  await setBridgeRoute(bridgeUrl, {
    projectId,
    triggerId,
    target: options.target,
    ...(options.faults ? { faults: options.faults } : {}),
  });
  const response = await fetch(
    `http://${options.firestoreHost}/emulator/v1/projects/${encodeURIComponent(projectId)}/eventarcTrigger` +
      `?eventarcTriggerId=${encodeURIComponent(triggerId)}`,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        eventType: JOB_TRIGGER_EVENT_TYPE,
        database: databaseId,
        namespace: '(default)',
        document: { value: documentPattern, matchType: 'PATH_PATTERN' },
      }),
    },
  );
  await expectOk(response, `Registering trigger ${triggerId} on the Firestore emulator`);
  return {
    projectId,
    triggerId,
    databaseId,
    documentPattern,
    stats: async () => {
      const { idle: _idle, ...stats } = await fetchRouteStats(bridgeUrl, projectId, triggerId);
      return stats;
    },
    waitForIdle: async (wait = {}) => {
      const { idle, ...stats } = await fetchRouteStats(bridgeUrl, projectId, triggerId, wait);
      if (!idle) {
        throw new StackError(
          'E11_STACK_START_TIMEOUT',
          `Trigger ${triggerId} did not become idle within ${wait.timeoutMs ?? 30_000} ms ` +
            `(wanted ${wait.minReceived ?? 0} events): ${JSON.stringify(stats)}`,
        );
      }
      return stats;
    },
    release: async () => {
      const response = await fetch(new URL(`${routePath(projectId, triggerId)}/release`, bridgeUrl), {
        method: 'POST',
      });
      await expectOk(response, `Releasing trigger ${triggerId}`);
      return ((await response.json()) as { released: number }).released;
    },
    unroute: async () => {
      const response = await fetch(new URL(routePath(projectId, triggerId), bridgeUrl), { method: 'DELETE' });
      await expectOk(response, `Removing the route of trigger ${triggerId}`);
    },
  };
}
