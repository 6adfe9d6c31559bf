/**
 * Checks on the secret paths clients send. The HTTP layer canonicalises URLs,
 * but an engine must not rely on it: a `..` segment or an empty segment would
 * name a storage key other than the one the ACL checked, and a NUL or a lone
 * surrogate is refused by some storage drivers with an opaque error.
 */
import { BadRequestError } from '../../lib/errors.ts';

/** Why `path` cannot name a secret, or undefined when it can. */
export function keyPathProblem(path: string): string | undefined {
  if (path.includes('\0')) return 'path must not contain NUL';
  if (/\p{Surrogate}/u.test(path)) return 'path must be valid Unicode';
  for (const segment of path.split('/')) {
    if (segment === '') return 'path must not contain empty segments';
    if (segment === '.' || segment === '..') return 'path must not contain "." or ".." segments';
  }
  return undefined;
}

/** A secret path: non-empty, no empty, `.` or `..` segment, no NUL. */
export function checkKeyPath(path: string): string {
  if (path === '') throw new BadRequestError('missing path');
  const problem = keyPathProblem(path);
  if (problem) throw new BadRequestError(`invalid path "${printable(path)}": ${problem}`);
  return path;
}

/**
 * A folder to list: empty for the root, otherwise a secret path with or
 * without its trailing `/`. Returns the storage-style prefix (`a/b/`).
 */
export function checkFolderPath(path: string): string {
  const bare = path.endsWith('/') ? path.slice(0, -1) : path;
  if (bare === '') return '';
  return `${checkKeyPath(bare)}/`;
}

/** True when `path` is a usable secret path (existence checks must not throw). */
export function isKeyPath(path: string): boolean {
  return path !== '' && keyPathProblem(path) === undefined;
}

// The path goes back to the caller who sent it; only control characters are masked.
function printable(path: string): string {
  return path.replace(/[\p{Cc}\p{Surrogate}]/gu, '?');
}
