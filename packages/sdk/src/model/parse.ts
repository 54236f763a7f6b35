import type { DocumentSnapshot } from '@google-cloud/firestore';
import type { z } from 'zod';

import { E11Error, ErrorCode } from '../errors.js';

/** Parses a stored document with its schema; a mismatch is an `E11_CORRUPT_DOCUMENT` naming the field. */
export function parseDocument<T extends z.ZodType>(schema: T, snapshot: DocumentSnapshot): z.infer<T> {
  const result = schema.safeParse(snapshot.data());
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue ? issue.path.join('.') : '';
    throw new E11Error(
      ErrorCode.CorruptDocument,
      `Document ${snapshot.ref.path} does not match its schema at '${field}': ${issue?.message ?? 'invalid'}.`,
      { context: { path: field, document: snapshot.ref.path } },
    );
  }
  return result.data;
}
