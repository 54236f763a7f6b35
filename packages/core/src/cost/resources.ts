import { E11Error, ErrorCode } from '../errors.js';

/**
 * The CPU and memory one task of a job gets, as recorded on its orchestration at kick-off: from the
 * service's `resources` option, else read from the Cloud Run job (its first container's
 * `resources.limits`), else Cloud Run's defaults.
 */
export interface JobResources {
  /** vCPUs per task. */
  cpu: number;
  /** Memory per task, in GiB (2^30 bytes). */
  memoryGiB: number;
  /** Where the figures came from. */
  source: 'cloud-run' | 'option' | 'default';
}

/** CPU and memory as a user (or Cloud Run's `resources.limits`) writes them. */
export interface ResourceLimits {
  /** vCPUs: a number (`1`, `0.5`), a string of one (`'2'`) or millicores (`'1000m'`). */
  cpu?: number | string;
  /** Memory in Kubernetes quantity notation: `'512Mi'`, `'2Gi'`, `'1G'`, or bytes as a number. */
  memory?: number | string;
}

/**
 * Cloud Run's defaults for a job's task when its template sets no limits: 1 vCPU and 512 MiB
 * (https://cloud.google.com/run/docs/configuring/jobs/cpu, /memory-limits).
 */
export const CLOUD_RUN_DEFAULT_RESOURCES: Readonly<JobResources> = Object.freeze({
  cpu: 1,
  memoryGiB: 0.5,
  source: 'default' as const,
});

const CPU = /^(\d+(?:\.\d+)?)(m?)$/;

/** Binary (Ki, Mi, Gi, Ti) and decimal (k, M, G, T) suffixes of a memory quantity, in bytes. */
const MEMORY_UNITS: Readonly<Record<string, number>> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
};
const MEMORY = /^(\d+(?:\.\d+)?)(|k|M|G|T|Ki|Mi|Gi|Ti)$/;

function invalid(path: string, message: string): never {
  throw new E11Error(ErrorCode.InvalidOptions, `${path}: ${message}`, { context: { path } });
}

/**
 * vCPUs of a CPU quantity: `1`, `0.5`, `'2'` or `'1000m'` (millicores). Throws `E11_INVALID_OPTIONS`
 * naming `path` for anything else, zero or a negative number.
 */
export function parseCpu(value: unknown, path = 'cpu'): number {
  let cpu: number | undefined;
  if (typeof value === 'number') cpu = value;
  else if (typeof value === 'string') {
    const match = CPU.exec(value.trim());
    if (match) cpu = Number(match[1]) / (match[2] === 'm' ? 1000 : 1);
  }
  if (cpu === undefined || !Number.isFinite(cpu) || cpu <= 0) {
    invalid(
      path,
      `must be a number of vCPUs (1, 0.5) or millicores ('1000m'), got ${JSON.stringify(value)}.`,
    );
  }
  return cpu;
}

/**
 * GiB of a memory quantity: `'512Mi'` (0.5), `'2Gi'` (2), `'1G'` (10^9 bytes), or bytes as a number.
 * Throws `E11_INVALID_OPTIONS` naming `path` for anything else, zero or a negative amount.
 */
export function parseMemoryGiB(value: unknown, path = 'memory'): number {
  let bytes: number | undefined;
  if (typeof value === 'number') bytes = value;
  else if (typeof value === 'string') {
    const match = MEMORY.exec(value.trim());
    if (match) bytes = Number(match[1]) * (MEMORY_UNITS[match[2] ?? ''] ?? Number.NaN);
  }
  if (bytes === undefined || !Number.isFinite(bytes) || bytes <= 0) {
    invalid(
      path,
      `must be a memory quantity like '512Mi' or '2Gi' (or bytes), got ${JSON.stringify(value)}.`,
    );
  }
  return bytes / 2 ** 30;
}

/**
 * The resources of limits given as an option or read from Cloud Run: a missing figure takes Cloud
 * Run's default. Throws `E11_INVALID_OPTIONS` for a malformed figure.
 */
export function toJobResources(
  limits: ResourceLimits,
  source: JobResources['source'],
  path = 'resources',
): JobResources {
  return {
    cpu: limits.cpu === undefined ? CLOUD_RUN_DEFAULT_RESOURCES.cpu : parseCpu(limits.cpu, `${path}.cpu`),
    memoryGiB:
      limits.memory === undefined
        ? CLOUD_RUN_DEFAULT_RESOURCES.memoryGiB
        : parseMemoryGiB(limits.memory, `${path}.memory`),
    source,
  };
}

/** Validates the service's `resources` option (job name → limits) into resources per job name. */
export function compileResourcesOption(option: unknown): ReadonlyMap<string, JobResources> {
  const compiled = new Map<string, JobResources>();
  if (option === undefined) return compiled;
  if (typeof option !== 'object' || option === null || Array.isArray(option)) {
    invalid(
      'resources',
      "must map job names to { cpu, memory }, e.g. { resize: { cpu: 2, memory: '1Gi' } }.",
    );
  }
  for (const [jobName, limits] of Object.entries(option)) {
    const path = `resources.${jobName}`;
    if (typeof limits !== 'object' || limits === null) invalid(path, 'must be { cpu?, memory? }.');
    compiled.set(jobName, toJobResources(limits as ResourceLimits, 'option', path));
  }
  return compiled;
}
