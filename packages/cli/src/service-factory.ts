import { createLogger, resolveProjectId } from '@e11/core';
import { OrchestrationService } from '@e11/sdk';

import { LazyCloudRunLauncher } from './lazy-launcher.js';

/** Options every command accepts. */
export interface GlobalOptions {
  project?: string;
  prefix?: string;
  /** Scope every command to this tenant (as `forTenant()`): other tenants' ids answer as unknown ones. */
  tenant?: string;
  /** The Firestore database E11 keeps its state in (default: E11_FIRESTORE_DATABASE or `(default)`). */
  database?: string;
  json?: boolean;
}

/** How `runCli` gets its service; tests pass one on the emulators. */
export type ServiceFactory = (options: GlobalOptions) => OrchestrationService;

/**
 * The default: a service for `--project` / `--prefix` / `--database`, scoped to `--tenant` when given,
 * clients from the environment (emulator hosts honoured); its Cloud Run client is only created when a
 * command launches or cancels.
 */
export const defaultServiceFactory: ServiceFactory = (options) => {
  const projectId = resolveProjectId(options.project);
  return new OrchestrationService({
    projectId,
    collectionPrefix: options.prefix,
    launcher: new LazyCloudRunLauncher(projectId),
    // Logs go to stderr: stdout carries the command's output (`--json` is parsed by scripts).
    logger: createLogger('e11-cli', {}, process.stderr),
    ...(options.tenant === undefined ? {} : { tenant: options.tenant }),
    ...(options.database === undefined ? {} : { databaseId: options.database }),
  });
};
