import type { Logger } from '../logging.js';

import {
  CLOUD_RUN_DEFAULT_RESOURCES,
  type JobResources,
  type ResourceLimits,
  toJobResources,
} from './resources.js';

/** Reads a Cloud Run job's limits (`TaskLauncher.jobLimits`); undefined when it sets none. */
export type ReadJobLimits = (service: string) => Promise<ResourceLimits | undefined>;

/**
 * The CPU and memory a kick-off records: the service's `resources` option for the job name, else the
 * Cloud Run job's own limits (read once per Cloud Run job for the service's lifetime), else Cloud
 * Run's defaults. A failed or malformed read falls back to the defaults (logged), never failing the
 * kick-off, and is not retried.
 */
export class JobResourcesSource {
  readonly #read = new Map<string, Promise<JobResources>>();

  constructor(
    private readonly options: ReadonlyMap<string, JobResources>,
    private readonly readLimits: ReadJobLimits | undefined,
    private readonly logger: Logger,
  ) {}

  /** The resources of `jobName`, run on the Cloud Run job `service`. */
  resolve(jobName: string, service: string): Promise<JobResources> {
    const option = this.options.get(jobName);
    if (option) return Promise.resolve(option);
    let read = this.#read.get(service);
    if (!read) {
      read = this.#readFromCloudRun(service);
      this.#read.set(service, read);
    }
    return read;
  }

  async #readFromCloudRun(service: string): Promise<JobResources> {
    if (!this.readLimits) return { ...CLOUD_RUN_DEFAULT_RESOURCES };
    try {
      const limits = await this.readLimits(service);
      if (!limits || (limits.cpu === undefined && limits.memory === undefined))
        return { ...CLOUD_RUN_DEFAULT_RESOURCES };
      return toJobResources(limits, 'cloud-run', `Cloud Run job ${service} limits`);
    } catch (error) {
      this.logger.warn(
        { err: error instanceof Error ? error.message : String(error), service },
        "could not read the Cloud Run job's CPU and memory; costing with Cloud Run's defaults",
      );
      return { ...CLOUD_RUN_DEFAULT_RESOURCES };
    }
  }
}
