// Type-level checks of job handles, compiled by `tsc -b` (test/tsconfig.json): every
// `@ts-expect-error` below fails the build if the types it guards get loose. Nothing here runs.
import { type E11JobOf, JobName } from '@e11/runner';
import { defineJob, type OrchestrationService, type ParamsOf, type ResultOf } from '@e11/sdk';
import * as v from 'valibot';
import { z } from 'zod';

import { GreetUser, type ShoutParams, Shout, SumSales } from './fixtures/src/typed-handles.js';

/** `A` and `B` are the same type. */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(): T | undefined {
  return undefined;
}

// Params and results come from the handle: the schema's input (zod, valibot) or the given types.
assertType<Equal<ParamsOf<typeof SumSales>, { month: string; amounts: number[] }>>();
assertType<Equal<ResultOf<typeof SumSales>, { month: string; totalCents: number }>>();
assertType<Equal<ParamsOf<typeof GreetUser>, { user: { name: string; email: string } }>>();
assertType<Equal<ParamsOf<typeof Shout>, ShoutParams>>();
export const Inferred = defineJob({ name: 'inferred', schema: z.object({ n: z.number() }) });
assertType<Equal<ParamsOf<typeof Inferred>, { n: number }>>();
assertType<Equal<ResultOf<typeof Inferred>, unknown>>();
export const FromValibot = defineJob({ name: 'from_valibot', schema: v.object({ id: v.string() }) });
assertType<Equal<ParamsOf<typeof FromValibot>, { id: string }>>();

export async function backend(service: OrchestrationService): Promise<void> {
  await service.kickOffJob(SumSales, [{ month: '2024-05', amounts: [1, 2] }]);
  // @ts-expect-error: a field the params do not have
  await service.kickOffJob(SumSales, [{ month: '2024-05', amounts: [1], region: 'eu' }]);
  // @ts-expect-error: a field of the wrong type
  await service.kickOffJob(SumSales, [{ month: 202405, amounts: [1] }]);
  // @ts-expect-error: a missing field
  await service.kickOffJob(GreetUser, [{ user: { name: 'Ada' } }]);

  // Params declared as interfaces, by handle and by name.
  const shouts: ShoutParams[] = [{ text: 'hi' }, { text: 'ho', times: 2 }];
  await service.kickOffJob(Shout, shouts);
  await service.kickOffJob<ShoutParams>('shout', shouts);
  await service.kickOffJob('shout', shouts);
  // @ts-expect-error: by name with a declared params type, still checked
  await service.kickOffJob<ShoutParams>('shout', [{ txt: 'hi' }]);

  const [successes, failures] = await service.getJobResults(SumSales, 'orchestration-id');
  const total: number | undefined = successes[0]?.result.totalCents;
  const month: string | undefined = failures?.[0]?.params.month;
  // @ts-expect-error: a result field the job does not return
  void successes[0]?.result.total;
  // @ts-expect-error: a result field of another type
  const wrong: string | undefined = successes[0]?.result.totalCents;
  void [total, month, wrong];

  // Without a handle, results stay unknown.
  const [untyped] = await service.getJobResults('orchestration-id');
  // @ts-expect-error: unknown result
  void untyped[0]?.result.totalCents;
}

// The container: a class's run must take the handle's params and return its result.
@JobName(SumSales)
export class SumSalesOk implements E11JobOf<typeof SumSales> {
  run(params: { month: string; amounts: number[] }) {
    return { month: params.month, totalCents: 0 };
  }
}

// @ts-expect-error: run returns another result than the handle's
@JobName(SumSales)
export class SumSalesWrongResult {
  run(params: { month: string; amounts: number[] }) {
    return { month: params.month, totalCents: '0' };
  }
}

// @ts-expect-error: run takes other params than the handle's
@JobName(Shout)
export class ShoutWrongParams {
  run(params: { text: number }) {
    return { shouted: String(params.text) };
  }
}

export class ImplementsWrong implements E11JobOf<typeof Shout> {
  // @ts-expect-error: the E11JobOf interface checks the result too
  run(params: ShoutParams) {
    return { shouted: params.times };
  }
}
