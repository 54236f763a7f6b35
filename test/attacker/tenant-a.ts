import type { KickOffOptions, KickOffResult, OrchestrationService } from '@e11/sdk';

import { PayJob, type PayParams } from '../fixtures/src/attacker-jobs.js';

/**
 * Tenant A of the isolation attacker test: its data, its secrets, and its one way of kicking off the
 * payment job (test/fixtures/src/attacker-jobs.ts). Every value here is distinctive, so a byte of it in
 * anything tenant B got, or a secret anywhere outside A's params, is found by a plain text search.
 */
export const TENANT_A = 'a';
export const TENANT_B = 'b';

/** The name of A's schedule, which B names too. */
export const A_SCHEDULE = 'pay-nightly';

/** The idempotency key A uses, and B tries again. */
export const SHARED_KEY = 'nightly-2026-11-23';

/** Declared sensitive on the job class only (`@JobName('pay', { sensitiveKeys })`). */
export const CARD_NUMBER = '4929047163512298';
/** Three characters: shorter than any length-based redaction threshold. */
export const CVV = 'Zq7';

/** A's plain data: visible to A, never to B. */
export const CUSTOMER_ID = 'cust-a-3f9e2d71';
export const RECEIPT = 'receipt-a-8c1b55e0';
export const TAG_VALUE = 'acct-a-d4e7a912';

/** The params of A's two jobs: the first succeeds, the second is declined (throws with both secrets). */
export const A_PARAMS = [
  { customerId: CUSTOMER_ID, cardNumber: CARD_NUMBER, cvv: CVV, receipt: RECEIPT },
  { customerId: CUSTOMER_ID, cardNumber: CARD_NUMBER, cvv: CVV, receipt: RECEIPT, decline: true },
];

/** B's own payment params (B's values; never scanned). */
export const B_PARAMS = [
  { customerId: 'cust-b-1', cardNumber: '5105105105105100', cvv: 'Bx9', receipt: 'receipt-b-1' },
  { customerId: 'cust-b-2', cardNumber: '5105105105105100', cvv: 'Bx9', receipt: 'receipt-b-2' },
];

/**
 * Kicks off the payment job: by its class (whose declared `sensitiveKeys` the orchestration then
 * stores; the kick-off options name none), or by another job name for B's idempotency attempts.
 */
export function kickOffPay(
  service: OrchestrationService,
  params: readonly Record<string, unknown>[],
  options: KickOffOptions = {},
  jobName = 'pay',
): Promise<KickOffResult> {
  if (jobName === 'pay') return service.kickOffJob(PayJob, params as unknown as PayParams[], options);
  return service.kickOffJob(jobName, params as never[], options);
}
