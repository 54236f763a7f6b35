import { z } from 'zod';

/**
 * Faults a route injects into its deliveries, to test that the function copes with what Eventarc may
 * do: deliver a change more than once, out of order, or not at all.
 */
export const routeFaultsSchema = z
  .object({
    /** Deliver every event twice (`true`) or this many times. */
    duplicate: z.union([z.boolean(), z.number().int().min(1).max(10)]).optional(),
    /** Wait a random 0..maxDelayMs before each delivery, so deliveries overtake each other. */
    shuffle: z.object({ maxDelayMs: z.number().int().min(0).max(60_000) }).optional(),
    /** Drop (acknowledge without delivering) the first n events, like a trigger that lost them. */
    dropFirst: z.number().int().min(0).optional(),
    /**
     * Park a delivery after a failed attempt instead of backing off, until the route is released
     * (`POST /_e11/routes/{project}/{trigger}/release`): lets a test look at the state between a failed
     * attempt and its retry.
     */
    holdFailed: z.boolean().optional(),
  })
  .strict();

/** See {@link routeFaultsSchema}. */
export type RouteFaults = z.infer<typeof routeFaultsSchema>;

/** Where the bridge forwards the events of one Firestore trigger. */
export const routeSpecSchema = z
  .object({
    projectId: z.string().min(1),
    /** The `eventarcTriggerId` registered on the Firestore emulator. */
    triggerId: z.string().min(1),
    /** URL of the Functions Framework server to POST the CloudEvents to. */
    target: z.url(),
    faults: routeFaultsSchema.optional(),
  })
  .strict();

/** See {@link routeSpecSchema}. */
export type RouteSpec = z.infer<typeof routeSpecSchema>;

/** Counters of one route. `inFlight` counts deliveries not yet settled (waiting, sending, backing off). */
export interface RouteStats {
  /** Events the Firestore emulator delivered to this route. */
  received: number;
  /** Events dropped on purpose (`dropFirst`). */
  dropped: number;
  /** Deliveries the function acknowledged (2xx). */
  delivered: number;
  /** Attempts that failed (non-2xx or connection error) and were tried again. */
  retried: number;
  /** Deliveries given up after the last attempt. */
  failed: number;
  /** Deliveries not settled yet (held ones included). */
  inFlight: number;
  /** Deliveries parked after a failed attempt (`holdFailed`), waiting for a release. */
  held: number;
  /** HTTP status of every attempt that got an answer, e.g. `{ "204": 12, "500": 1 }`. */
  responses: Record<string, number>;
  /** The last failure, for diagnostics. */
  lastError: string | null;
}

/** How the bridge delivers. */
export interface DeliveryOptions {
  /** Attempts per delivery, the first included. @default 8 */
  maxAttempts: number;
  /** First backoff; doubles per attempt, with jitter. @default 100 */
  initialBackoffMs: number;
  /** Upper bound of one backoff. @default 2000 */
  maxBackoffMs: number;
  /** Requests in flight at once per route. @default 32 */
  concurrency: number;
  /** Timeout of one attempt. @default 60000 */
  attemptTimeoutMs: number;
}
