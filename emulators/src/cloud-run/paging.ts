import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './defaults.js';
import { invalidArgument } from './rpc-error.js';

/** One page of a List RPC and the token of the next ('' on the last page). */
export interface Page<T> {
  items: T[];
  nextPageToken: string;
}

/** Pages `items` by offset; the token is opaque to callers. Throws INVALID_ARGUMENT for a bad token. */
export function paginate<T>(items: T[], pageSize: number, pageToken: string): Page<T> {
  let offset = 0;
  if (pageToken !== '') {
    offset = Number(
      Buffer.from(pageToken, 'base64url')
        .toString('utf8')
        .replace(/^offset:/, ''),
    );
    if (!Number.isInteger(offset) || offset < 0)
      throw invalidArgument(`page_token: '${pageToken}' is not valid.`);
  }
  if (pageSize < 0) throw invalidArgument(`page_size: must not be negative, got ${pageSize}.`);
  const size = Math.min(pageSize === 0 ? DEFAULT_PAGE_SIZE : pageSize, MAX_PAGE_SIZE);
  const end = offset + size;
  return {
    items: items.slice(offset, end),
    nextPageToken: end < items.length ? Buffer.from(`offset:${end}`).toString('base64url') : '',
  };
}
