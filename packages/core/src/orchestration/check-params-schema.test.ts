import { describe, expect, it } from 'vitest';
import { z } from 'zod';

import { checkParamsSchema } from './check-params-schema.js';
import type { StandardSchemaV1 } from './standard-schema.js';

const Month = z.object({ month: z.string(), lines: z.array(z.object({ cents: z.int() })).optional() });

async function refusal(schema: StandardSchemaV1, params: unknown[]) {
  try {
    await checkParamsSchema(schema, params, 'sum_sales');
  } catch (error) {
    return error as { code: string; message: string; context: Record<string, unknown> };
  }
  throw new Error('expected a refusal');
}

describe('checkParamsSchema', () => {
  it('accepts params every set of which the schema accepts, and anything without a schema', async () => {
    await expect(
      checkParamsSchema(Month, [{ month: 'May' }, { month: 'June', lines: [] }], 'j'),
    ).resolves.toBe(undefined);
    await expect(checkParamsSchema(undefined, [{ anything: 1 }], 'j')).resolves.toBe(undefined);
  });

  it('names the index and the field path of each issue, nested and in arrays', async () => {
    const error = await refusal(Month, [
      { month: 'May' },
      { month: 'June', lines: [{ cents: 1 }, { cents: 'x' }] },
    ]);
    expect(error.code).toBe('E11_INVALID_PARAMS');
    expect(error.message).toContain(
      "Invalid params for job 'sum_sales' (1 of 2 params sets): params[1].lines[1].cents: ",
    );
    expect(error.context).toMatchObject({ jobName: 'sum_sales', index: 1, path: 'params[1].lines[1].cents' });
  });

  it('names a params set refused as a whole by its index alone', async () => {
    const error = await refusal(Month, [{ month: 'May' }, 'not an object']);
    expect(error.context).toMatchObject({ index: 1, path: 'params[1]' });
    expect(error.message).toMatch(/params\[1\]: Invalid input/);
  });

  it('lists at most three issues and counts the others', async () => {
    const error = await refusal(Month, [{ month: 1 }, { month: 2 }, {}, { month: 'ok' }, { month: 4 }]);
    expect(error.message).toContain('(4 of 5 params sets)');
    expect(error.message).toContain('params[0].month');
    expect(error.message).toContain('params[2].month');
    expect(error.message).not.toContain('params[4].month');
    expect(error.message).toContain('(and 1 more issue)');
    expect(error.context.issues).toHaveLength(3);
  });

  it('awaits an asynchronous schema', async () => {
    const Archived = z
      .object({ month: z.string() })
      .refine(async ({ month }) => Promise.resolve(month !== 'old'), {
        message: 'archived',
        path: ['month'],
      });
    const error = await refusal(Archived, [{ month: 'new' }, { month: 'old' }]);
    expect(error.message).toContain('params[1].month: archived');
  });

  it('turns a schema that throws into E11_INVALID_PARAMS for that set', async () => {
    const Broken = z.object({ month: z.string() }).transform(() => {
      throw new Error('boom');
    });
    const error = await refusal(Broken, [{ month: 'May' }]);
    expect(error).toMatchObject({ code: 'E11_INVALID_PARAMS', context: { path: 'params[0]' } });
    expect(error.message).toContain('the params schema threw: boom');
  });
});
