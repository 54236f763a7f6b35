// Tenants: `forTenant(tenant)` scopes the service to one customer. Its kick-offs are stamped with the
// tenant, and every read sees only that tenant's orchestrations: another tenant's id answers
// E11_UNKNOWN_ORCHESTRATION, exactly as an id that does not exist.
//   node examples/dist/features/tenants.js
import { ErrorCode, isE11Error } from '@e11/sdk';

import { SumSales } from '../jobs/handles.js';
import { type Example, runIfMain, say } from '../local-stack.js';

export const tenants: Example<{ acmeTotalCents: number; globexSees: string }> = async ({
  orchestrations,
}) => {
  const acme = orchestrations.forTenant('acme');
  const globex = orchestrations.forTenant('globex');

  const { orchestrationId } = await acme.kickOffJob(SumSales, [{ month: '2026-05' }]);
  const [successes] = await acme.getJobResults(SumSales, orchestrationId, { timeoutMs: 120_000 });
  say(`acme's orchestration ${orchestrationId}: ${successes.length} success(es)`);

  // Another tenant cannot see it.
  const globexSees = await globex.getOrchestration(orchestrationId).then(
    () => 'the orchestration',
    (error: unknown) => (isE11Error(error, ErrorCode.UnknownOrchestration) ? error.code : String(error)),
  );
  say(`globex asking for it gets ${globexSees}`);
  return { acmeTotalCents: successes[0]?.result.totalCents ?? 0, globexSees };
};

await runIfMain(import.meta.url, tenants);
