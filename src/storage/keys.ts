/**
 * Key rules and key order shared by every backend, so that all of them accept,
 * reject and sort the same keys (see the rules on `Storage` in types.ts).
 */

/** Throws unless `key` is a key the storage contract accepts. */
export function assertKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key === '') {
    throw new Error('storage key must be a non-empty string');
  }
  assertPath(key, 'key');
}

/** Throws unless `prefix` is a list prefix: empty, or a path ending with `/`. */
export function assertPrefix(prefix: unknown): asserts prefix is string {
  if (typeof prefix !== 'string') throw new Error('storage prefix must be a string');
  if (prefix === '') return;
  if (!prefix.endsWith('/')) throw new Error('storage prefix must be empty or end with "/"');
  assertPath(prefix, 'prefix');
}

export function assertValue(value: unknown): asserts value is Buffer {
  if (!Buffer.isBuffer(value)) throw new Error('storage value must be a Buffer');
}

// Messages never quote the key: storage keys can embed salted token ids.
function assertPath(path: string, what: string): void {
  if (path.startsWith('/')) throw new Error(`storage ${what} must not start with "/"`);
  // PostgreSQL text cannot hold NUL, and a lone surrogate has no UTF-8 form: either
  // would store a different key than the caller asked for on some backend.
  if (path.includes('\0')) throw new Error(`storage ${what} must not contain NUL`);
  if (/\p{Surrogate}/u.test(path)) throw new Error(`storage ${what} must be valid Unicode`);
}

/**
 * Compares keys by their UTF-8 bytes (the order SQLite, etcd and PostgreSQL's
 * "C" collation use). JavaScript's `<` compares UTF-16 units instead, which
 * puts emoji before U+E000..U+FFFF.
 */
export function compareKeys(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

// Moves surrogates (code points >= U+10000) above U+E000..U+FFFF, keeping order within each.
function codePointRank(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit < 0xe000 ? unit + 0x2000 : unit - 0x800;
}

/** The first key after every key under `folder` (which ends with `/`): `/` + 1 is `0`. */
export function folderEnd(folder: string): string {
  return folder.slice(0, -1) + '0';
}

/**
 * The name `key` shows in a one-level list of `prefix` (which it starts with):
 * the rest of the key, or its first segment with a trailing `/`.
 */
export function childName(prefix: string, key: string): string {
  const slash = key.indexOf('/', prefix.length);
  return slash < 0 ? key.slice(prefix.length) : key.slice(prefix.length, slash + 1);
}
