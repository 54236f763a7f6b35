import { describe, expect, it } from 'vitest';

import { CLOUD_RUN_JOB_PRICES, compilePricing, costOf, listPricesFor, priceTaskSeconds } from './pricing.js';

describe('task time prices', () => {
  it('prices task seconds as seconds × (cpu × cpu rate + GiB × memory rate)', () => {
    const pricing = { cpuPerVcpuSecond: 0.001, memoryPerGibSecond: 0.0001, currency: 'EUR' };
    // 10 s × (2 × 0.001 + 0.5 × 0.0001) = 10 × 0.00205
    expect(priceTaskSeconds(10, { cpu: 2, memoryGiB: 0.5 }, pricing)).toBeCloseTo(0.0205, 12);
    expect(costOf(10_000, { cpu: 2, memoryGiB: 0.5 }, pricing)).toEqual({
      taskSeconds: 10,
      cpu: 2,
      memoryGiB: 0.5,
      amount: priceTaskSeconds(10, { cpu: 2, memoryGiB: 0.5 }, pricing),
      currency: 'EUR',
    });
    expect(costOf(0, { cpu: 1, memoryGiB: 0.5 }, pricing).amount).toBe(0);
  });

  it("uses Cloud Run's list prices of the region's tier without a pricing option", () => {
    expect(listPricesFor('us-central1')).toEqual(CLOUD_RUN_JOB_PRICES.tier1);
    expect(listPricesFor('europe-west3')).toEqual(CLOUD_RUN_JOB_PRICES.tier2);
    expect(compilePricing(undefined, 'europe-west1')).toEqual(CLOUD_RUN_JOB_PRICES.tier1);
    // 1 vCPU and 512 MiB for an hour at Tier 1: 3600 × (0.000018 + 0.5 × 0.000002)
    expect(priceTaskSeconds(3600, { cpu: 1, memoryGiB: 0.5 }, CLOUD_RUN_JOB_PRICES.tier1)).toBeCloseTo(
      0.0684,
      10,
    );
  });

  it('takes a pricing option, USD by default, and refuses negative rates or a bad currency', () => {
    expect(compilePricing({ cpuPerVcpuSecond: 1, memoryPerGibSecond: 2 }, 'us-central1')).toEqual({
      cpuPerVcpuSecond: 1,
      memoryPerGibSecond: 2,
      currency: 'USD',
    });
    expect(() => compilePricing({ cpuPerVcpuSecond: -1, memoryPerGibSecond: 0 }, undefined)).toThrow(
      /pricing\.cpuPerVcpuSecond/,
    );
    expect(() =>
      compilePricing({ cpuPerVcpuSecond: 1, memoryPerGibSecond: 1, currency: 'dollars' }, undefined),
    ).toThrow(/pricing\.currency/);
    expect(() => compilePricing({ cpuPerVcpuSecond: 1 }, undefined)).toThrow(/pricing\.memoryPerGibSecond/);
  });
});
