import { E11Error, ErrorCode } from '../errors.js';

import type { JobResources } from './resources.js';

/** Prices of a Cloud Run job's task time: per vCPU-second and per GiB-second, in `currency`. */
export interface JobPricing {
  cpuPerVcpuSecond: number;
  memoryPerGibSecond: number;
  /** ISO 4217 code, e.g. `USD`. */
  currency: string;
}

/**
 * Cloud Run's list prices for jobs (the "Services with CPU always allocated / Jobs" row), per region
 * tier, in USD. Source: https://cloud.google.com/run/pricing, read on 2026-12-06 (the page listed
 * Tier 1 jobs at $0.00001800 per vCPU-second; the memory and Tier 2 rates are the page's published
 * ones at the same time). The free tier (the first 240,000 vCPU-seconds and 450,000 GiB-seconds a
 * month per billing account) is NOT subtracted: an orchestration cannot know what the rest of the
 * account used. Committed use discounts and negotiated prices are not applied either: give
 * `pricing` to use your own.
 */
export const CLOUD_RUN_JOB_PRICES: Readonly<Record<'tier1' | 'tier2', Readonly<JobPricing>>> = Object.freeze({
  tier1: Object.freeze({ cpuPerVcpuSecond: 0.000018, memoryPerGibSecond: 0.000002, currency: 'USD' }),
  tier2: Object.freeze({ cpuPerVcpuSecond: 0.0000252, memoryPerGibSecond: 0.0000028, currency: 'USD' }),
});

/** Cloud Run's Tier 1 regions (same source and date); every other region is Tier 2. */
export const CLOUD_RUN_TIER1_REGIONS: readonly string[] = [
  'asia-east1',
  'asia-northeast1',
  'asia-northeast2',
  'europe-north1',
  'europe-southwest1',
  'europe-west1',
  'europe-west4',
  'europe-west8',
  'europe-west9',
  'me-west1',
  'us-central1',
  'us-east1',
  'us-east4',
  'us-east5',
  'us-south1',
  'us-west1',
];

/** The list prices of `region`'s tier (Tier 1 when the region is not known). */
export function listPricesFor(region: string | undefined): JobPricing {
  const tier = region === undefined || CLOUD_RUN_TIER1_REGIONS.includes(region) ? 'tier1' : 'tier2';
  return { ...CLOUD_RUN_JOB_PRICES[tier] };
}

function invalid(path: string, message: string): never {
  throw new E11Error(ErrorCode.InvalidOptions, `${path}: ${message}`, { context: { path } });
}

function rate(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    invalid(path, `must be a price of zero or more, got ${JSON.stringify(value)}.`);
  }
  return value;
}

/**
 * The service's `pricing` option, validated, or the list prices of `region`'s tier without one.
 * Throws `E11_INVALID_OPTIONS` naming the field.
 */
export function compilePricing(option: unknown, region: string | undefined): JobPricing {
  if (option === undefined) return listPricesFor(region);
  if (typeof option !== 'object' || option === null) {
    invalid('pricing', 'must be { cpuPerVcpuSecond, memoryPerGibSecond, currency }.');
  }
  const given = option as Partial<Record<keyof JobPricing, unknown>>;
  const currency = given.currency ?? 'USD';
  if (typeof currency !== 'string' || !/^[A-Z]{3}$/.test(currency)) {
    invalid('pricing.currency', `must be an ISO 4217 code like 'USD', got ${JSON.stringify(currency)}.`);
  }
  return {
    cpuPerVcpuSecond: rate(given.cpuPerVcpuSecond, 'pricing.cpuPerVcpuSecond'),
    memoryPerGibSecond: rate(given.memoryPerGibSecond, 'pricing.memoryPerGibSecond'),
    currency,
  };
}

/** What an orchestration's task time cost (see `OrchestrationInfo.cost`). */
export interface OrchestrationCost {
  /** Task seconds: the attempts' durations added up, each from its start to its end as recorded. */
  taskSeconds: number;
  /** vCPUs and GiB per task the amount was priced with. */
  cpu: number;
  memoryGiB: number;
  /** taskSeconds × (cpu × cpuPerVcpuSecond + memoryGiB × memoryPerGibSecond). */
  amount: number;
  currency: string;
}

/** taskSeconds × (cpu × cpuRate + memoryGiB × memoryRate), for one task's resources. */
export function priceTaskSeconds(
  taskSeconds: number,
  resources: Pick<JobResources, 'cpu' | 'memoryGiB'>,
  pricing: JobPricing,
): number {
  return (
    taskSeconds *
    (resources.cpu * pricing.cpuPerVcpuSecond + resources.memoryGiB * pricing.memoryPerGibSecond)
  );
}

/** The cost of `taskMillis` of task time at `resources` and `pricing`. */
export function costOf(
  taskMillis: number,
  resources: Pick<JobResources, 'cpu' | 'memoryGiB'>,
  pricing: JobPricing,
): OrchestrationCost {
  const taskSeconds = taskMillis / 1000;
  return {
    taskSeconds,
    cpu: resources.cpu,
    memoryGiB: resources.memoryGiB,
    amount: priceTaskSeconds(taskSeconds, resources, pricing),
    currency: pricing.currency,
  };
}
