import { describe, expect, it } from 'vitest';

import { isE11Error } from '../errors.js';

import { firestoreValueSize, validateParamsList } from './params.js';

const limits = { maxJobs: 10, maxParamsBytes: 1_000 };

function rejection(params: unknown, custom = limits) {
  try {
    validateParamsList(params, custom);
  } catch (error) {
    if (!isE11Error(error)) throw error;
    return { code: error.code, message: error.message, path: error.context.path, index: error.context.index };
  }
  throw new Error('expected validateParamsList to throw');
}

class Point {
  constructor(readonly x: number) {}
}

describe('validateParamsList', () => {
  it('accepts plain JSON objects with nested maps and arrays', () => {
    expect(() =>
      validateParamsList([{ a: 1, b: 'x', c: [1, { d: null }], e: { f: true } }], limits),
    ).not.toThrow();
  });

  it('rejects an empty list and a non-array with E11_INVALID_PARAMS', () => {
    expect(rejection([])).toMatchObject({
      code: 'E11_INVALID_PARAMS',
      message: expect.stringMatching(/empty/) as string,
    });
    expect(rejection({ a: 1 })).toMatchObject({ code: 'E11_INVALID_PARAMS' });
  });

  it('rejects more parameter sets than the ceiling with E11_TOO_MANY_JOBS', () => {
    expect(rejection(Array.from({ length: 11 }, () => ({})))).toMatchObject({ code: 'E11_TOO_MANY_JOBS' });
  });

  it('names the index and path of an undefined value, a function, a class instance and a Date', () => {
    expect(rejection([{}, { user: { email: undefined } }])).toMatchObject({
      index: 1,
      path: 'params[1].user.email',
    });
    expect(rejection([{ run: () => 1 }])).toMatchObject({
      path: 'params[0].run',
      message: expect.stringMatching(/function/) as string,
    });
    expect(rejection([{ p: new Point(1) }])).toMatchObject({
      path: 'params[0].p',
      message: expect.stringMatching(/Point/) as string,
    });
    expect(rejection([{ at: new Date() }])).toMatchObject({
      path: 'params[0].at',
      message: expect.stringMatching(/Date/) as string,
    });
    expect(rejection([new Point(2)])).toMatchObject({ path: 'params[0]' });
  });

  it('rejects cycles, NaN, nested arrays and reserved keys', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    expect(rejection([cyclic])).toMatchObject({
      path: 'params[0].self',
      message: expect.stringMatching(/cyclic/) as string,
    });
    expect(rejection([{ n: Number.NaN }])).toMatchObject({ path: 'params[0].n' });
    expect(rejection([{ grid: [[1]] }])).toMatchObject({ path: 'params[0].grid[0]' });
    expect(rejection([{ __name__: 1 }])).toMatchObject({ code: 'E11_INVALID_PARAMS' });
  });

  it('rejects a parameter set over the byte limit as Firestore counts it', () => {
    expect(rejection([{ blob: 'x'.repeat(2_000) }])).toMatchObject({
      index: 0,
      message: expect.stringMatching(/bytes/) as string,
    });
  });

  it('counts the larger of the JSON text and the Firestore map size against the limit', () => {
    // 601 bytes as a Firestore string, 1,211 as JSON text (each newline is escaped as two characters).
    expect(rejection([{ text: '\n'.repeat(600) }])).toMatchObject({
      index: 0,
      message: expect.stringMatching(/is 1211 bytes/) as string,
    });
    // 151 numbers: 8 bytes each as Firestore counts them, 2 characters each as JSON text.
    expect(rejection([{ n: Array.from({ length: 151 }, () => 1) }])).toMatchObject({
      message: expect.stringMatching(/is 1210 bytes/) as string,
    });
    expect(() => validateParamsList([{ text: '\n'.repeat(400) }], limits)).not.toThrow();
  });

  it('reuses a shared object that is not a cycle', () => {
    const shared = { id: 1 };
    expect(() => validateParamsList([{ a: shared, b: shared }], limits)).not.toThrow();
  });
});

describe('firestoreValueSize', () => {
  it('counts strings as UTF-8 bytes plus one, numbers as 8 and map keys like strings', () => {
    expect(firestoreValueSize('abc')).toBe(4);
    expect(firestoreValueSize('é')).toBe(3);
    expect(firestoreValueSize(12)).toBe(8);
    expect(firestoreValueSize({ ab: 1, c: [true, null] })).toBe(3 + 8 + 2 + 1 + 1);
  });
});
