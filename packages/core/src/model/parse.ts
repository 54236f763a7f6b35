import type { DocumentSnapshot } from '@google-cloud/firestore';
import type { z } from 'zod';

import { E11Error, ErrorCode } from '../errors.js';

import { type JobDoc, jobDocSchema } from './documents.js';

/**
 * Parses a stored document with its schema; a mismatch is an `E11_CORRUPT_DOCUMENT` naming the field.
 * `fromPath` holds fields the document does not store because its path gives them (they win).
 */
export function parseDocument<T extends z.ZodType>(
  schema: T,
  snapshot: DocumentSnapshot,
  fromPath?: Record<string, unknown>,
): z.infer<T> {
  const result = schema.safeParse(fromPath ? { ...snapshot.data(), ...fromPath } : snapshot.data());
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

/** Parses a job document, taking its `id` and `orchestrationId` from its path. */
export function parseJobDocument(snapshot: DocumentSnapshot): JobDoc {
  return parseDocument(jobDocSchema, snapshot, {
    id: snapshot.id,
    orchestrationId: snapshot.ref.parent.parent?.id,
  });
}
