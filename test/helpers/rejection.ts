import { type E11Error, isE11Error } from '@e11/core';

/** The E11Error `promise` rejects with; any other outcome (a fulfilment, another error) fails the test. */
export async function rejection(promise: Promise<unknown>): Promise<E11Error> {
  try {
    await promise;
  } catch (error) {
    if (isE11Error(error)) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}
