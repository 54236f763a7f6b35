import { describe, expect, it } from 'vitest';

import { isE11Error } from '../errors.js';

import { definePipeline, PipelineRegistry } from './definition.js';

const stage = (name: string, job = 'process_chunk') => ({ name, job, params: () => [{}] });

describe('definePipeline', () => {
  it('validates and freezes a pipeline, defaulting onFailure to fail', () => {
    const pipeline = definePipeline({ name: 'etl', stages: [stage('split'), stage('merge')] });
    expect(pipeline.stages.map((s) => [s.name, s.onFailure])).toEqual([
      ['split', 'fail'],
      ['merge', 'fail'],
    ]);
    expect(Object.isFrozen(pipeline)).toBe(true);
    expect(pipeline.fingerprint).toMatch(/^[0-9a-f]{16}$/);
  });

  it.each([
    [{ name: 'Bad Name', stages: [stage('a')] }, 'name'],
    [{ name: 'etl', stages: [] }, 'stages'],
    [{ name: 'etl', stages: [stage('a'), stage('a')] }, 'stages[1].name'],
    [{ name: 'etl', stages: [stage('a', 'Not-A-Job!')] }, 'stages[0].job'],
    [{ name: 'etl', stages: [{ name: 'a', job: 'x' }] }, 'stages[0].params'],
    [{ name: 'etl', stages: [{ ...stage('a'), onFailure: 'retry' }] }, 'stages[0].onFailure'],
  ])('refuses %j with E11_INVALID_OPTIONS at %s', (spec, path) => {
    let thrown: unknown;
    try {
      definePipeline(spec as never);
    } catch (error) {
      thrown = error;
    }
    expect(isE11Error(thrown, 'E11_INVALID_OPTIONS')).toBe(true);
    expect((thrown as { context: { path: string } }).context.path).toBe(path);
  });

  it('gives the same fingerprint to the same shape and another to a changed failure mode', () => {
    const a = definePipeline({ name: 'etl', stages: [stage('split'), stage('merge')] });
    const b = definePipeline({ name: 'etl', stages: [stage('split'), stage('merge')] });
    const c = definePipeline({
      name: 'etl',
      stages: [stage('split'), { ...stage('merge'), onFailure: 'continue' }],
    });
    expect(a.fingerprint).toBe(b.fingerprint);
    expect(c.fingerprint).not.toBe(a.fingerprint);
  });
});

describe('PipelineRegistry', () => {
  it('resolves a registered definition by object or name and refuses others with E11_UNKNOWN_PIPELINE', () => {
    const etl = definePipeline({ name: 'etl', stages: [stage('split')] });
    const registry = new PipelineRegistry([etl]);
    expect(registry.resolve(etl)).toBe(etl);
    expect(registry.resolve('etl')).toBe(etl);
    const changed = definePipeline({ name: 'etl', stages: [stage('split'), stage('merge')] });
    for (const unknown of [changed, 'other']) {
      let thrown: unknown;
      try {
        registry.resolve(unknown);
      } catch (error) {
        thrown = error;
      }
      expect(isE11Error(thrown, 'E11_UNKNOWN_PIPELINE')).toBe(true);
    }
  });

  it('refuses two different definitions of one name', () => {
    const a = definePipeline({ name: 'etl', stages: [stage('split')] });
    const b = definePipeline({ name: 'etl', stages: [stage('split')] });
    expect(() => new PipelineRegistry([a, b])).toThrow(/registered twice/);
  });
});
