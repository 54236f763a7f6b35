import {
  createLogger,
  gcloudConfigProperty,
  requireRegion,
  resolveProjectId,
  resolveRegion,
} from '@e11/core';
import { OrchestrationService } from '@e11/sdk';

import { LazyCloudRunLauncher } from './lazy-launcher.js';

/** Options every command accepts. */
export interface GlobalOptions {
  /** Google Cloud project (default: GOOGLE_CLOUD_PROJECT…, else the active gcloud configuration's core/project). */
  project?: string;
  /** Cloud Run region of launches (default: E11_REGION…, else the active gcloud configuration's run/region). */
  region?: string;
  prefix?: string;
  /** Scope every command to this tenant (as `forTenant()`): other tenants' ids answer as unknown ones. */
  tenant?: string;
  /** The Firestore database E11 keeps its state in (default: E11_FIRESTORE_DATABASE or `(default)`). */
  database?: string;
  /** Bound on a read-only command (status, jobs, history…), e.g. `15s`. @default E11_READ_TIMEOUT, or 15s */
  readTimeout?: string;
  json?: boolean;
}

/** What the command about to run needs of its service. */
export interface ServiceNeeds {
  /** The command may launch or cancel Cloud Run executions (kickoff, retry, resume, cancel…). */
  launches: boolean;
  /** The command's name, for messages (`dlq retry`). */
  command: string;
}

/**
 * How `runCli` gets its service; tests pass one on the emulators. Called once the command's arguments
 * are parsed, before anything is written.
 */
export type ServiceFactory = (options: GlobalOptions, needs?: ServiceNeeds) => OrchestrationService;

/** The project of the CLI: `--project`, the usual variables, else the active gcloud configuration's. */
export function cliProjectId(
  options: GlobalOptions,
  env: Readonly<Record<string, string | undefined>> = process.env,
): string | undefined {
  return resolveProjectId(options.project, env) || gcloudConfigProperty(env, 'core', 'project');
}

/**
 * The default: a service for `--project` / `--region` / `--prefix` / `--database`, scoped to `--tenant`
 * when given, clients from the environment (emulator hosts honoured); its Cloud Run client is only
 * created when a command launches or cancels. Such a command needs a region: without one it throws
 * `E11_INVALID_OPTIONS` here, before anything is written.
 */
export const defaultServiceFactory: ServiceFactory = (options, needs) => {
  const projectId = cliProjectId(options);
  const region = needs?.launches
    ? requireRegion(options.region, process.env, `e11 ${needs.command}`)
    : resolveRegion(options.region);
  return new OrchestrationService({
    projectId,
    ...(region === undefined ? {} : { region }),
    collectionPrefix: options.prefix,
    launcher: new LazyCloudRunLauncher(projectId, region),
    // Logs go to stderr: stdout carries the command's output (`--json` is parsed by scripts).
    logger: createLogger('e11-cli', { projectId }, process.stderr),
    ...(options.tenant === undefined ? {} : { tenant: options.tenant }),
    ...(options.database === undefined ? {} : { databaseId: options.database }),
  });
};
