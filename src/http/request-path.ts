/**
 * One canonical form per path. Vault clients build paths by joining strings,
 * so the server refuses anything that could name the same entry two ways or
 * climb out of a mount: dot segments, empty segments, encoded slashes, NUL.
 */
import { BadRequestError } from '../lib/errors.ts';

/** Longest path accepted, in bytes; a storage key cannot usefully be longer. */
export const MAX_PATH_BYTES = 4096;

/**
 * Turns the URL path after `/v1/` into the logical path. A trailing slash is
 * kept (it marks a folder in LIST requests).
 */
export function canonicalPath(rawPath: string): string {
  if (/%2f|%5c|%00/i.test(rawPath)) {
    throw new BadRequestError('invalid path: encoded "/", "\\" or NUL is not allowed');
  }
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    throw new BadRequestError('invalid path: bad percent-encoding');
  }
  if (Buffer.byteLength(path) > MAX_PATH_BYTES) {
    throw new BadRequestError(`invalid path: longer than ${MAX_PATH_BYTES} bytes`);
  }
  if (path.includes('\0') || path.includes('\\')) {
    throw new BadRequestError('invalid path: NUL or "\\" is not allowed');
  }
  const trailing = path.endsWith('/');
  const body = trailing ? path.slice(0, -1) : path;
  if (body === '') throw new BadRequestError('invalid path: empty');
  for (const segment of body.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') {
      throw new BadRequestError(`invalid path "${truncate(path)}": empty or dot segment`);
    }
  }
  return path;
}

function truncate(text: string): string {
  return text.length > 120 ? `${text.slice(0, 120)}…` : text;
}
