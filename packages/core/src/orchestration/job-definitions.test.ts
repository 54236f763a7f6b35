import 'reflect-metadata';

import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../errors.js';

import { JobDefinitions, readJobDeclaration } from './job-definitions.js';

/** What `@JobName('charge_card', { sensitiveKeys })` (@e11/runner) stores on a class. */
function declare(target: object, name: string, sensitiveKeys?: string[]): void {
  Reflect.defineMetadata(Symbol.for('e11:job-name'), { name, options: { sensitiveKeys }, target }, target);
}

class ChargeCardJob {
  run(params: { cardNumber: string }): string {
    return params.cardNumber.slice(-4);
  }
}
declare(ChargeCardJob, 'charge_card', ['cardNumber', 'cvv']);

class PlainJob {
  run(): void {}
}
declare(PlainJob, 'plain');

class Undecorated {
  run(): void {}
}

class TunedJob {
  run(): void {}
}
Reflect.defineMetadata(
  Symbol.for('e11:job-name'),
  { name: 'tuned', options: { maxAttempts: 5, backoff: { initialMs: 200, maxMs: 4_000 }, timeout: '2m' } },
  TunedJob,
);

const chargeCard = readJobDeclaration(ChargeCardJob);
const plain = readJobDeclaration(PlainJob);

describe('JobDefinitions', () => {
  it('reads the retry and timeout settings @JobName stored on a class', () => {
    expect(readJobDeclaration(TunedJob)).toEqual({
      name: 'tuned',
      sensitiveKeys: [],
      policy: { maxAttempts: 5, initialBackoffMs: 200, maxBackoffMs: 4_000, jobTimeoutMs: 120_000 },
    });
    expect(new JobDefinitions([TunedJob]).resolve('tuned', undefined).declared?.policy.maxAttempts).toBe(5);
  });

  it('reads the name and sensitive keys @JobName stored on a class', () => {
    expect(readJobDeclaration(ChargeCardJob)).toEqual({
      name: 'charge_card',
      sensitiveKeys: ['cardNumber', 'cvv'],
      policy: {},
    });
    expect(readJobDeclaration(Undecorated)).toBeUndefined();
    expect(readJobDeclaration('charge_card')).toBeUndefined();
  });

  it("adds a class's declared keys to a kick-off by class, or by a registered name", () => {
    const definitions = new JobDefinitions([ChargeCardJob, PlainJob]);
    expect(definitions.resolve(ChargeCardJob, { sensitiveKeys: ['token', 'cvv'] })).toEqual({
      jobName: 'charge_card',
      options: { sensitiveKeys: ['token', 'cvv', 'cardNumber'] },
      declared: chargeCard,
    });
    expect(definitions.resolve('charge_card', { tags: { a: 'b' } })).toEqual({
      jobName: 'charge_card',
      options: { tags: { a: 'b' }, sensitiveKeys: ['cardNumber', 'cvv'] },
      declared: chargeCard,
    });
    expect(new JobDefinitions().resolve(ChargeCardJob, undefined).options?.sensitiveKeys).toEqual([
      'cardNumber',
      'cvv',
    ]);
    // Unknown names and classes without keys keep the options as given; malformed keys are left
    // for the options' own validation.
    const given = { sensitiveKeys: ['x'] };
    expect(definitions.resolve('other_job', given)).toEqual({
      jobName: 'other_job',
      options: given,
      declared: undefined,
    });
    expect(definitions.resolve('plain', given)).toEqual({
      jobName: 'plain',
      options: given,
      declared: plain,
    });
    const malformed = { sensitiveKeys: 'cvv' as unknown as string[] };
    expect(definitions.resolve('charge_card', malformed).options).toBe(malformed);
  });

  it('refuses a class without @JobName with E11_INVALID_OPTIONS', () => {
    expect(() => new JobDefinitions([Undecorated])).toThrow(
      expect.objectContaining({ code: ErrorCode.InvalidOptions }),
    );
    expect(() => new JobDefinitions().resolve(Undecorated, undefined)).toThrow(
      expect.objectContaining({ code: ErrorCode.InvalidOptions }),
    );
  });
});
