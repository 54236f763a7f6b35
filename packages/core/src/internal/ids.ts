import { createHash } from 'node:crypto';

/**
 * The id of the job at `index` of an orchestration: a UUID derived from both, so it is unique (the
 * orchestration id is a random UUID, or derived from an idempotency key) and any task can compute it
 * — in array mode a task finds its job from CLOUD_RUN_TASK_INDEX with one document read, no query.
 */
export function jobIdFor(orchestrationId: string, index: number): string {
  return deterministicUuid(`${orchestrationId}|${index}`);
}

/** A UUID (version 8, "custom") derived from `input`: the same input always gives the same id. */
export function deterministicUuid(input: string): string {
  const bytes = createHash('sha256').update(input).digest().subarray(0, 16);
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x80;
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The orchestration id an idempotency key maps to. A tenant-scoped kick-off derives it from the JSON
 * of (prefix, tenant, key) — an unambiguous encoding, so no tenant's key can produce another tenant's
 * id. An unscoped kick-off keeps the derivation ids had before tenant scoping (`prefix|idempotency|key`),
 * so a retry of a kick-off made by an earlier version still finds its orchestration; the two forms cannot
 * meet, as only the JSON form starts with `[`, which a collection prefix cannot.
 */
export function idempotentOrchestrationId(prefix: string, tenant: string | null, key: string): string {
  if (tenant === null) return deterministicUuid(`${prefix}|idempotency|${key}`);
  return deterministicUuid(JSON.stringify(['idempotency', prefix, tenant, key]));
}
