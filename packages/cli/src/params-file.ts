import { readFile } from 'node:fs/promises';

import { E11Error, ErrorCode, type JobParams } from '@e11/core';

/**
 * Reads a JSON Lines file of parameter sets: one JSON object per line, blank lines ignored. A line
 * that is not a JSON object is an `E11_INVALID_PARAMS` error naming the file and line number.
 */
export async function readParamsFile(path: string): Promise<JobParams[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new E11Error(ErrorCode.InvalidOptions, `Cannot read the params file ${path}: ${reason}.`, {
      context: { path: 'params' },
    });
  }
  return parseParamsLines(text, path);
}

/** Parses JSON Lines text (see {@link readParamsFile}); `source` names it in errors. */
export function parseParamsLines(text: string, source: string): JobParams[] {
  const params: JobParams[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((line, index) => {
    if (line.trim() === '') return;
    const where = `${source} line ${index + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new E11Error(ErrorCode.InvalidParams, `${where}: not valid JSON (${(error as Error).message}).`, {
        context: { index: params.length, path: where },
      });
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new E11Error(
        ErrorCode.InvalidParams,
        `${where}: expected a JSON object of params, got ${Array.isArray(value) ? 'an array' : JSON.stringify(value)}.`,
        {
          context: { index: params.length, path: where },
        },
      );
    }
    params.push(value as JobParams);
  });
  if (params.length === 0) {
    throw new E11Error(
      ErrorCode.InvalidParams,
      `${source} has no parameter sets (one JSON object per line).`,
      {
        context: { path: source },
      },
    );
  }
  return params;
}
