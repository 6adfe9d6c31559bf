/**
 * One config key as Consul models it (`DirEntry`), how it is kept in
 * storage, and how it goes out on the wire.
 *
 * Flags are a uint64 in Consul; they are carried as bigint and written out
 * as JSON number text so values above 2^53 survive. Indexes are storage
 * revisions (see store.ts), far below 2^53.
 */

export interface KvEntry {
  key: string;
  /** Consul stores an empty body as no value: `Value: null` on the wire. */
  value: Buffer | null;
  flags: bigint;
  createIndex: number;
  modifyIndex: number;
  lockIndex: number;
  /** The session holding the lock; '' when unlocked. */
  session: string;
}

/** The stored form: short names, flags as a decimal string, value as base64. */
interface StoredEntry {
  v: string | null;
  f: string;
  c: number;
  m: number;
  l: number;
  s?: string;
}

export function encodeEntry(entry: KvEntry): Buffer {
  const stored: StoredEntry = {
    v: entry.value === null ? null : entry.value.toString('base64'),
    f: entry.flags.toString(),
    c: entry.createIndex,
    m: entry.modifyIndex,
    l: entry.lockIndex,
  };
  if (entry.session !== '') stored.s = entry.session;
  return Buffer.from(JSON.stringify(stored));
}

export function decodeEntry(key: string, raw: Buffer): KvEntry {
  const stored = JSON.parse(raw.toString('utf8')) as StoredEntry;
  return {
    key,
    value: stored.v === null ? null : Buffer.from(stored.v, 'base64'),
    flags: BigInt(stored.f),
    createIndex: stored.c,
    modifyIndex: stored.m,
    lockIndex: stored.l,
    session: stored.s ?? '',
  };
}

/** Consul's `DirEntry.Equal`: what a set compares to skip a write that changes nothing. */
export function sameContent(a: KvEntry, b: KvEntry): boolean {
  return (
    a.key === b.key &&
    a.flags === b.flags &&
    a.lockIndex === b.lockIndex &&
    a.session === b.session &&
    sameValue(a.value, b.value)
  );
}

export function sameValue(a: Buffer | null, b: Buffer | null): boolean {
  if (a === null || b === null) return a === b;
  return a.equals(b);
}

/**
 * The wire shape, in Consul's field order: `LockIndex, Key, Flags, Value,
 * Session (omitted when unlocked), CreateIndex, ModifyIndex`. Transaction
 * results of write verbs carry `Value: null` (`withValue` false).
 */
export function entryJson(entry: KvEntry, withValue = true): string {
  const value = withValue && entry.value !== null ? `"${entry.value.toString('base64')}"` : 'null';
  const session = entry.session === '' ? '' : `,"Session":${JSON.stringify(entry.session)}`;
  return (
    `{"LockIndex":${entry.lockIndex},"Key":${JSON.stringify(entry.key)},` +
    `"Flags":${entry.flags.toString()},"Value":${value}${session},` +
    `"CreateIndex":${entry.createIndex},"ModifyIndex":${entry.modifyIndex}}`
  );
}
