import { DEFAULTS, isE11Error, type JobDocumentPath, JobStatus, parseJobDocumentPath } from '@e11/core';
import type { CloudEvent } from '@google-cloud/functions-framework';

import {
  type DocumentEventData,
  decodeDocumentEventData,
  type EventDocument,
} from './document-event-data.js';
import { decodeValue } from './firestore-value.js';

/** The CloudEvent types of Firestore document writes this function understands. */
const FIRESTORE_EVENT_TYPE =
  /^google\.cloud\.firestore\.document\.v1\.(written|created|updated|deleted)(\.withAuthContext)?$/;

/** An event that names no database comes from the default one (Eventarc always names it). */
const DEFAULT_DATABASE = '(default)';

/** A write to an E11 job document, as read from its CloudEvent. */
export interface JobWrite {
  kind: 'job';
  /** The CloudEvent id (the same for every redelivery of one change). */
  eventId: string;
  projectId: string;
  /** The Firestore database the write happened in (the one the function serves). */
  database: string;
  path: JobDocumentPath;
  /** The job's status before the write; null when the document was created. */
  oldStatus: JobStatus | null;
  /** The job's status after the write; null when the document was deleted. */
  newStatus: JobStatus | null;
  /** The job belongs to a `maxParallel` orchestration (its end frees a slot). */
  limited: boolean;
  /**
   * The job holds a slot of the region's executions-in-flight budget: its end frees a slot another
   * orchestration may take, even when its own admits no more.
   */
  sharesBudget: boolean;
  /** The job's orchestration has an end policy (maxFailures, successPolicy): its end is checked. */
  earlyEnd: boolean;
  /** The job's `@JobName` after the write, when the document has it. */
  jobName: string | null;
  /** The W3C traceparent of the attempt span that wrote the job's end, when there is one. */
  traceparent: string | null;
}

/** Why an event is acknowledged without doing anything. */
export type IgnoreReason =
  /** Not a Firestore document event. */
  | 'unsupported-event-type'
  /** A document outside `{prefix}orchestrations/{id}/jobs/{id}`. */
  | 'other-collection'
  /** A database other than the one the function serves (E11_FIRESTORE_DATABASE). */
  | 'other-database'
  /** The event or its payload cannot be read. */
  | 'malformed-event';

/** An event that is logged once and acknowledged (redelivering it could never help). */
export interface IgnoredEvent {
  kind: 'ignored';
  reason: IgnoreReason;
  message: string;
  /** Whatever identifies the event, for the log line. */
  details: Record<string, unknown>;
}

const STATUSES = new Set<string>(Object.values(JobStatus));

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** A string field of the document, or null when it is absent or not a non-empty string. */
function textField(doc: EventDocument | null, field: string): string | null {
  const raw = doc?.fields[field];
  return raw === undefined ? null : (text(decodeValue(raw)) ?? null);
}

/**
 * `//firestore.googleapis.com/projects/{project}/databases/{database}` → its parts. (The Firestore
 * emulator writes `projects/projects/{project}/…`: the pair right before `/databases/` wins.)
 */
export function parseFirestoreSource(source: string): { projectId: string; database: string } | undefined {
  const match = /projects\/([^/]+)\/databases\/([^/]+)$/.exec(source);
  if (!match?.[1] || !match[2]) return undefined;
  return { projectId: match[1], database: match[2] };
}

/** The job status a document holds; throws a message when it has none or an unknown one. */
function statusOf(doc: EventDocument | null): JobStatus | null {
  if (!doc) return null;
  const raw = doc.fields.status;
  if (raw === undefined) throw new TypeError(`The job document ${doc.name} has no 'status' field.`);
  const status = decodeValue(raw);
  if (typeof status !== 'string' || !STATUSES.has(status)) {
    throw new TypeError(`The job document ${doc.name} has an unknown status ${JSON.stringify(status)}.`);
  }
  return status as JobStatus;
}

/** The old status only tells whether the status changed: an unreadable one counts as a change. */
function oldStatusOf(doc: EventDocument | null): JobStatus | null {
  try {
    return statusOf(doc);
  } catch {
    return null;
  }
}

/**
 * Reads a Firestore CloudEvent: which project, database and job document it is about, and the job's
 * status before and after the write. Anything that is not a readable write of an E11 job document of
 * `servedDatabase` comes back as an {@link IgnoredEvent} with the reason — never thrown, because
 * redelivering it cannot help. A write in another database is never read: its documents are not E11's
 * (or belong to another deployment), and the function's IAM grants may not even reach them.
 */
export function readJobWrite(
  event: CloudEvent<unknown>,
  servedDatabase: string = DEFAULTS.firestoreDatabase,
): JobWrite | IgnoredEvent {
  const details: Record<string, unknown> = {
    ceId: event.id,
    ceType: event.type,
    ceSource: event.source,
    ceSubject: event.subject,
  };
  const ignore = (reason: IgnoreReason, message: string): IgnoredEvent => ({
    kind: 'ignored',
    reason,
    message,
    details,
  });
  if (typeof event.type !== 'string' || !FIRESTORE_EVENT_TYPE.test(event.type)) {
    return ignore('unsupported-event-type', `Not a Firestore document event: ${String(event.type)}.`);
  }
  const fromSource = typeof event.source === 'string' ? parseFirestoreSource(event.source) : undefined;
  const projectId = text(event.project) ?? fromSource?.projectId;
  const database = text(event.database) ?? fromSource?.database ?? DEFAULT_DATABASE;
  if (!projectId) return ignore('malformed-event', 'The event names no project (source or project).');
  details.projectId = projectId;
  details.database = database;
  if (database !== servedDatabase) {
    return ignore('other-database', `This function serves the database ${servedDatabase}, not ${database}.`);
  }

  // The document path from the event's attributes, before paying for decoding the payload.
  const attributePath = text(event.document) ?? text(event.subject);
  if (attributePath !== undefined) {
    details.document = attributePath;
    if (!parseJobDocumentPath(attributePath)) {
      return ignore('other-collection', `Not an E11 job document: ${attributePath}.`);
    }
  }

  let data: DocumentEventData;
  const payload = event.data ?? text(event.data_base64);
  try {
    data = decodeDocumentEventData(payload, event.datacontenttype);
  } catch (error) {
    return ignore('malformed-event', isE11Error(error) ? error.message : String(error));
  }
  const path = parseJobDocumentPath(attributePath ?? data.value?.name ?? data.oldValue?.name ?? '');
  if (!path) {
    details.document = data.value?.name ?? data.oldValue?.name;
    return ignore('other-collection', 'Not an E11 job document.');
  }
  details.orchestrationId = path.orchestrationId;
  details.jobId = path.jobId;
  try {
    return {
      kind: 'job',
      eventId: event.id,
      projectId,
      database,
      path,
      oldStatus: oldStatusOf(data.oldValue),
      newStatus: statusOf(data.value),
      limited: data.value?.fields.limited !== undefined && decodeValue(data.value.fields.limited) === true,
      earlyEnd: data.value?.fields.earlyEnd !== undefined && decodeValue(data.value.fields.earlyEnd) === true,
      sharesBudget:
        data.value?.fields.inFlightBudget !== undefined &&
        typeof decodeValue(data.value.fields.inFlightBudget) === 'string',
      jobName: textField(data.value, 'jobName'),
      traceparent: textField(data.value, 'traceparent'),
    };
  } catch (error) {
    return ignore('malformed-event', error instanceof Error ? error.message : String(error));
  }
}
