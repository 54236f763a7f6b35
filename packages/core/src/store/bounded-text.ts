import { DEFAULTS } from '../defaults.js';
import type { JobErrorInfo } from '../model/documents.js';

/**
 * `text` cut to at most `maxBytes` of UTF-8, on a character boundary, ending in `…` when it was cut.
 * A job document has a fixed budget for each text it stores (see DEFAULTS.maxParamsBytes).
 */
export function truncateUtf8(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  const ellipsis = '…';
  let end = Math.max(0, maxBytes - Buffer.byteLength(ellipsis));
  // Step back over continuation bytes (10xxxxxx) so no character is split.
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8') + ellipsis;
}

/** A job error with each text within its budget (message, stack, code, name). */
export function boundJobError(error: JobErrorInfo): JobErrorInfo {
  return {
    ...error,
    message: truncateUtf8(error.message, DEFAULTS.maxErrorMessageBytes),
    stack: error.stack === null ? null : truncateUtf8(error.stack, DEFAULTS.maxErrorStackBytes),
    code: truncateUtf8(error.code, DEFAULTS.maxErrorCodeBytes),
    name: error.name === null ? null : truncateUtf8(error.name, DEFAULTS.maxErrorCodeBytes),
  };
}
