import { fromGoogleError } from '@e11/core';

/**
 * Awaits work on Firestore: a Google client error (UNAVAILABLE, PERMISSION_DENIED, …) becomes a typed
 * `E11_UNAVAILABLE` / `E11_FORBIDDEN` with a hint and the original as `cause` (see `fromGoogleError`);
 * E11Errors pass through.
 */
export async function onFirestore<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw fromGoogleError(error, 'Firestore');
  }
}
