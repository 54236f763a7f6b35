import { describe, expect, it } from 'vitest';

import { E11Error } from '../errors.js';

import { compileResourcesOption, parseCpu, parseMemoryGiB, toJobResources } from './resources.js';

describe('CPU and memory quantities', () => {
  it('reads vCPUs from a number, a string of one, or millicores', () => {
    expect(parseCpu(1)).toBe(1);
    expect(parseCpu(0.5)).toBe(0.5);
    expect(parseCpu('2')).toBe(2);
    expect(parseCpu('1000m')).toBe(1);
    expect(parseCpu('250m')).toBe(0.25);
  });

  it('reads GiB from binary and decimal suffixes and from bytes', () => {
    expect(parseMemoryGiB('512Mi')).toBe(0.5);
    expect(parseMemoryGiB('2Gi')).toBe(2);
    expect(parseMemoryGiB('1024Ki')).toBeCloseTo(1 / 1024, 12);
    expect(parseMemoryGiB('1G')).toBeCloseTo(1e9 / 2 ** 30, 12);
    expect(parseMemoryGiB(2 ** 31)).toBe(2);
  });

  it('refuses malformed, zero and negative quantities with E11_INVALID_OPTIONS naming the field', () => {
    for (const bad of ['two', '1 core', '', 0, -1, '1.5x', null]) {
      expect(() => parseCpu(bad, 'resources.a.cpu')).toThrow(E11Error);
    }
    for (const bad of ['512MB', '2 Gi', '0Gi', -5, 'lots', undefined]) {
      expect(() => parseMemoryGiB(bad, 'resources.a.memory')).toThrow(/resources\.a\.memory/);
    }
    try {
      parseCpu('two', 'resources.a.cpu');
    } catch (error) {
      expect((error as E11Error).code).toBe('E11_INVALID_OPTIONS');
    }
  });

  it("fills a missing figure with Cloud Run's default (1 vCPU, 512 MiB)", () => {
    expect(toJobResources({ memory: '2Gi' }, 'option')).toEqual({ cpu: 1, memoryGiB: 2, source: 'option' });
    expect(toJobResources({ cpu: '4' }, 'cloud-run')).toEqual({
      cpu: 4,
      memoryGiB: 0.5,
      source: 'cloud-run',
    });
  });

  it('compiles the resources option per job name, refusing a bad entry', () => {
    const compiled = compileResourcesOption({ resize: { cpu: '2000m', memory: '1Gi' } });
    expect(compiled.get('resize')).toEqual({ cpu: 2, memoryGiB: 1, source: 'option' });
    expect(compileResourcesOption(undefined).size).toBe(0);
    expect(() => compileResourcesOption({ resize: { cpu: 'fast' } })).toThrow(/resources\.resize\.cpu/);
    expect(() => compileResourcesOption([])).toThrow(E11Error);
  });
});
