import { resolveDatabaseId, resolveProjectId } from '../clients/firestore.js';
import { requireRegion, resolveRegion } from '../clients/region.js';
import { DEFAULTS } from '../defaults.js';
import { E11Error, ErrorCode } from '../errors.js';
import type { ServiceNameMapping } from '../validate/job-name.js';

import {
  type CompiledLaunchOptions,
  compileLaunchOptions,
  type OrchestrationServiceOptions,
  validateTenant,
  validateTopic,
} from './options.js';

/** The environment variables a service's options fall back to. */
export type ServiceEnv = Readonly<Record<string, string | undefined>>;

/** A service's settings after validation and defaults: what the engine is built from (clients aside). */
export interface CompiledServiceOptions {
  /** Undefined: the clients detect it. */
  projectId: string | undefined;
  databaseId: string;
  collectionPrefix: string;
  tenant: string | null;
  /**
   * The Cloud Run region launches go to and whose launch budgets the service shares. Required for the
   * default launcher; with a `launcher` given, its own `region` or `-` when neither names one.
   */
  region: string;
  /** Undefined: the launcher reads E11_CLOUD_RUN_EMULATOR_HOST itself, or talks to Cloud Run. */
  cloudRunEndpoint: string | undefined;
  serviceName: ServiceNameMapping | undefined;
  defaultTopic: string;
  maxJobsPerOrchestration: number;
  launch: CompiledLaunchOptions;
}

/**
 * Validates an `OrchestrationServiceOptions` and fills every default once, from `DEFAULTS` and the
 * given environment (`GOOGLE_CLOUD_PROJECT`…, `E11_FIRESTORE_DATABASE`, `E11_COLLECTION_PREFIX`,
 * `E11_TOPIC`, and the region's variables and gcloud configuration, see `resolveRegion`). It creates
 * no client; the only thing it reads besides `env` is the gcloud configuration file `env` points to.
 * Throws `E11_INVALID_OPTIONS` naming the field, also when the default launcher would need a region
 * and nothing names one (there is no default region).
 */
export function compileServiceOptions(
  options: OrchestrationServiceOptions = {},
  env: ServiceEnv = {},
): CompiledServiceOptions {
  const maxJobs = options.maxJobsPerOrchestration ?? DEFAULTS.maxJobsPerOrchestration;
  if (typeof maxJobs !== 'number' || !Number.isInteger(maxJobs) || maxJobs < 1) {
    throw new E11Error(
      ErrorCode.InvalidOptions,
      `maxJobsPerOrchestration: must be a positive integer, got ${String(maxJobs)}.`,
      { context: { path: 'maxJobsPerOrchestration' } },
    );
  }
  return {
    projectId: resolveProjectId(options.projectId, env),
    databaseId: resolveDatabaseId(options.databaseId, env),
    collectionPrefix: options.collectionPrefix ?? env.E11_COLLECTION_PREFIX ?? DEFAULTS.collectionPrefix,
    tenant: validateTenant(options.tenant),
    region:
      options.launcher === undefined
        ? requireRegion(options.region, env)
        : (resolveRegion(options.region, env) ?? options.launcher.region ?? '-'),
    cloudRunEndpoint: options.cloudRunEndpoint,
    serviceName: options.serviceName,
    launch: compileLaunchOptions(options.launch),
    defaultTopic: validateTopic(options.defaultTopic ?? env.E11_TOPIC ?? DEFAULTS.topic, 'defaultTopic'),
    maxJobsPerOrchestration: maxJobs,
  };
}
