/**
 * Snapshots of all storage: every key with its value exactly as stored, so
 * secrets stay barrier ciphertext (only the seal configuration and the
 * encrypted keyring are stored in the clear, as always). A snapshot opens
 * with the unseal keys of the server it was taken from.
 *
 * Format, version 1, gzip-compressed:
 *
 *   "KEEPSNAP\n"
 *   one JSON line: {"format": 1, "created": RFC 3339, "revision": n, "storage": type, "entries": n}
 *   entries: u32 key length, key (UTF-8), u32 value length, value  (big-endian lengths)
 *   "KEEPSUM\n" and the 32-byte SHA-256 of everything before it
 *
 * Restore checks all of it (gzip, magic, version, every length, the entry
 * count, the checksum) before it changes anything, then replaces the
 * storage's contents in one storage transaction: a corrupt or truncated
 * file is refused and leaves the server as it was.
 */
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { Storage, TxnOp } from '../storage/types.ts';

const MAGIC = Buffer.from('KEEPSNAP\n');
const TRAILER = Buffer.from('KEEPSUM\n');
const FORMAT = 1;
/** How often a snapshot is retried while writes keep landing during it. */
const ATTEMPTS = 5;

export interface SnapshotHeader {
  format: number;
  created: string;
  revision: number;
  storage: string;
  entries: number;
}

/** A snapshot that cannot be restored; the message says why. */
export class SnapshotError extends Error {}

/** Raised when writes kept landing while the snapshot was read. */
export class SnapshotBusyError extends Error {}

/** Every key under `prefix` (empty: all), depth first, in key order. */
async function allKeys(storage: Storage, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const name of await storage.list(prefix)) {
    if (name === '') out.push(prefix);
    else if (name.endsWith('/')) out.push(...(await allKeys(storage, prefix + name)));
    else out.push(prefix + name);
  }
  return out;
}

/**
 * Reads every key and value. The storage interface has no read snapshot,
 * so the read is checked instead: it counts only if the storage revision
 * did not move while it ran, and is retried otherwise.
 */
export async function takeSnapshot(
  storage: Storage,
  now: Date = new Date(),
): Promise<{ header: SnapshotHeader; data: Buffer }> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const revision = await storage.revision();
    const parts: Buffer[] = [];
    let entries = 0;
    for (const key of await allKeys(storage)) {
      const value = await storage.get(key);
      if (value === undefined) continue;
      const keyBytes = Buffer.from(key, 'utf8');
      parts.push(u32(keyBytes.length), keyBytes, u32(value.length), value);
      entries++;
    }
    if ((await storage.revision()) !== revision) continue;

    const header: SnapshotHeader = {
      format: FORMAT,
      created: now.toISOString(),
      revision,
      storage: storage.type,
      entries,
    };
    const body = Buffer.concat([MAGIC, Buffer.from(`${JSON.stringify(header)}\n`), ...parts]);
    const sum = createHash('sha256').update(body).digest();
    return { header, data: gzipSync(Buffer.concat([body, TRAILER, sum])) };
  }
  throw new SnapshotBusyError('storage kept changing while the snapshot was read; try again');
}

/** Checks a snapshot file through and returns its header and entries; throws SnapshotError. */
export function readSnapshot(file: Buffer): {
  header: SnapshotHeader;
  entries: [string, Buffer][];
} {
  let raw: Buffer;
  try {
    raw = gunzipSync(file);
  } catch {
    throw new SnapshotError('not a Keep snapshot: the file is not gzip data, or it is truncated');
  }
  if (!raw.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new SnapshotError('not a Keep snapshot: the file does not start with its marker');
  }
  const trailerAt = raw.length - TRAILER.length - 32;
  if (
    trailerAt < MAGIC.length ||
    !raw.subarray(trailerAt, trailerAt + TRAILER.length).equals(TRAILER)
  ) {
    throw new SnapshotError('the snapshot is truncated: its checksum is missing');
  }
  const body = raw.subarray(0, trailerAt);
  const sum = raw.subarray(trailerAt + TRAILER.length);
  if (!createHash('sha256').update(body).digest().equals(sum)) {
    throw new SnapshotError('the snapshot is corrupt: its checksum does not match');
  }

  const headerEnd = body.indexOf(0x0a, MAGIC.length);
  let header: SnapshotHeader;
  try {
    header = JSON.parse(body.subarray(MAGIC.length, headerEnd).toString('utf8')) as SnapshotHeader;
  } catch {
    throw new SnapshotError('the snapshot is corrupt: its header is not readable');
  }
  if (header.format !== FORMAT) {
    throw new SnapshotError(
      `snapshot format ${header.format} is not supported (this Keep reads ${FORMAT})`,
    );
  }

  const entries: [string, Buffer][] = [];
  let at = headerEnd + 1;
  const take = (n: number): Buffer => {
    if (at + n > body.length)
      throw new SnapshotError('the snapshot is corrupt: an entry runs past its end');
    const out = body.subarray(at, at + n);
    at += n;
    return out;
  };
  while (at < body.length) {
    const key = take(take(4).readUInt32BE(0)).toString('utf8');
    const value = Buffer.from(take(take(4).readUInt32BE(0)));
    entries.push([key, value]);
  }
  if (entries.length !== header.entries) {
    throw new SnapshotError(
      `the snapshot is corrupt: it holds ${entries.length} entries, its header says ${header.entries}`,
    );
  }
  return { header, entries };
}

/**
 * Replaces everything in `storage` with the snapshot's entries, in one
 * storage transaction. The file is checked whole first; nothing changes
 * if it is refused.
 */
export async function restoreSnapshot(storage: Storage, file: Buffer): Promise<SnapshotHeader> {
  const { header, entries } = readSnapshot(file);
  const keep = new Set(entries.map(([key]) => key));
  const ops: TxnOp[] = [];
  for (const key of await allKeys(storage)) {
    if (!keep.has(key)) ops.push({ op: 'delete', key });
  }
  for (const [key, value] of entries) ops.push({ op: 'put', key, value });
  await storage.transaction(ops);
  return header;
}

function u32(n: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(n, 0);
  return out;
}
