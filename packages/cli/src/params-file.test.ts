import { isE11Error } from '@e11/core';
import { describe, expect, it } from 'vitest';

import { parseParamsLines } from './params-file.js';

function errorOf(text: string): { code: string; message: string } {
  try {
    parseParamsLines(text, 'jobs.jsonl');
  } catch (error) {
    if (isE11Error(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected an error');
}

describe('parseParamsLines', () => {
  it('reads one object per line and skips blank lines', () => {
    expect(parseParamsLines('{"a":1}\n\n{"b":"x"}\r\n', 'jobs.jsonl')).toEqual([{ a: 1 }, { b: 'x' }]);
  });

  it('names the file and line of invalid JSON', () => {
    expect(errorOf('{"a":1}\n{oops}\n')).toMatchObject({
      code: 'E11_INVALID_PARAMS',
      message: expect.stringMatching(/^jobs\.jsonl line 2: not valid JSON/) as unknown,
    });
  });

  it.each([
    ['[1,2]', 'an array'],
    ['42', '42'],
    ['null', 'null'],
  ])('refuses %s on a line because params are objects', (line, shown) => {
    expect(errorOf(`{"a":1}\n${line}`).message).toBe(
      `jobs.jsonl line 2: expected a JSON object of params, got ${shown}.`,
    );
  });

  it('refuses an empty file', () => {
    expect(errorOf('\n \n').code).toBe('E11_INVALID_PARAMS');
  });
});
