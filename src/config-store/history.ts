/**
 * Change history: every write or delete of a config key keeps an entry
 * with the value before and after, who made it (token display name and
 * accessor, never the token), when, and from which address. Entries are
 * written in the same storage transaction as the change they describe, so
 * a change without its entry (or the other way round) cannot exist.
 *
 * Layout, under the config store's prefix and behind the barrier:
 *
 *   history/log/<index>-<seq>           the entry (index: 16 digits, seq: 5)
 *   history/key/<encoded key>/<index>-<seq>   an empty marker, per key
 *
 * The log sorts by index, which is also time order; the markers make one
 * key's history a single folder listing. Keys are encoded with
 * encodeURIComponent so each is one storage segment.
 */
import { createHash } from 'node:crypto';
import type { Storage, TxnOp } from '../storage/types.ts';
import type { KvEntry } from './kv-entry.ts';

export interface Author {
  displayName: string;
  accessor: string;
  remoteAddr: string;
}

export interface HistoryValue {
  /** Base64, or null for Consul's empty value; absent when only the hash is kept. */
  value?: string | null;
  /** SHA-256 of the value, hex; set instead of `value` for sensitive keys. */
  sha256?: string;
  flags: string;
  session?: string;
}

export interface HistoryEntry {
  index: number;
  seq: number;
  /** RFC 3339 time of the change. */
  time: string;
  key: string;
  action: 'create' | 'update' | 'delete';
  before: HistoryValue | null;
  after: HistoryValue | null;
  author: { display_name: string; accessor: string; remote_addr: string };
  /** Why a change happened without a direct request (`session-invalidated`, `rollback`). */
  cause?: string;
}

export interface HistoryOptions {
  /** Keys whose values are kept as hashes only (string prefixes). */
  sensitivePrefixes?: string[];
  /** Entries kept per key, newest first; 0 or absent keeps all. */
  maxEntriesPerKey?: number;
  /** Entries older than this are dropped; 0 or absent keeps them. */
  maxAgeMs?: number;
}

export interface Change {
  key: string;
  before: KvEntry | null;
  after: KvEntry | null;
}

const LOG = 'history/log/';
const BY_KEY = 'history/key/';

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

function entryName(index: number, seq: number): string {
  return `${pad(index, 16)}-${pad(seq, 5)}`;
}

function keyFolder(key: string): string {
  return `${BY_KEY}${encodeURIComponent(key)}/`;
}

/** Whether a change is one a person would call a change: value, flags, lock holder or existence. */
export function isVisibleChange(change: Change): boolean {
  const { before, after } = change;
  if (before === null || after === null) return before !== after;
  return (
    before.flags !== after.flags ||
    before.session !== after.session ||
    !(before.value === null ? after.value === null : after.value?.equals(before.value))
  );
}

/** The storage writes that record `changes`, all at `index`. */
export function historyOps(
  changes: Change[],
  ctx: { index: number; timeMs: number; author: Author; cause?: string; opts: HistoryOptions },
): TxnOp[] {
  const ops: TxnOp[] = [];
  let seq = 0;
  for (const change of changes) {
    if (!isVisibleChange(change)) continue;
    const sensitive = (ctx.opts.sensitivePrefixes ?? []).some((p) => change.key.startsWith(p));
    const entry: HistoryEntry = {
      index: ctx.index,
      seq,
      time: new Date(ctx.timeMs).toISOString(),
      key: change.key,
      action: change.before === null ? 'create' : change.after === null ? 'delete' : 'update',
      before: historyValue(change.before, sensitive),
      after: historyValue(change.after, sensitive),
      author: {
        display_name: ctx.author.displayName,
        accessor: ctx.author.accessor,
        remote_addr: ctx.author.remoteAddr,
      },
    };
    if (ctx.cause) entry.cause = ctx.cause;
    const name = entryName(ctx.index, seq);
    ops.push({ op: 'put', key: LOG + name, value: Buffer.from(JSON.stringify(entry)) });
    ops.push({ op: 'put', key: keyFolder(change.key) + name, value: Buffer.alloc(0) });
    seq++;
  }
  return ops;
}

function historyValue(entry: KvEntry | null, sensitive: boolean): HistoryValue | null {
  if (entry === null) return null;
  const out: HistoryValue = { flags: entry.flags.toString() };
  if (sensitive) {
    out.sha256 = createHash('sha256')
      .update(entry.value ?? Buffer.alloc(0))
      .digest('hex');
  } else {
    out.value = entry.value === null ? null : entry.value.toString('base64');
  }
  if (entry.session !== '') out.session = entry.session;
  return out;
}

async function readEntry(storage: Storage, name: string): Promise<HistoryEntry | undefined> {
  const raw = await storage.get(LOG + name);
  return raw ? (JSON.parse(raw.toString('utf8')) as HistoryEntry) : undefined;
}

/** One key's history, newest first. */
export async function keyHistory(
  storage: Storage,
  key: string,
  limit: number,
): Promise<HistoryEntry[]> {
  const names = (await storage.list(keyFolder(key))).filter((n) => !n.endsWith('/'));
  const out: HistoryEntry[] = [];
  for (const name of names.reverse()) {
    if (out.length >= limit) break;
    const entry = await readEntry(storage, name);
    if (entry) out.push(entry);
  }
  return out;
}

export interface HistoryQuery {
  prefix?: string;
  /** Matches the author's display name or accessor exactly. */
  author?: string;
  sinceMs?: number;
  untilMs?: number;
  limit: number;
  /** Entries the caller may not read are skipped, never counted. */
  visible?: (key: string) => boolean;
}

/** Entries matching the query, newest first, read from the newest end of the log. */
export async function searchHistory(storage: Storage, q: HistoryQuery): Promise<HistoryEntry[]> {
  const names = (await storage.list(LOG)).filter((n) => !n.endsWith('/'));
  const out: HistoryEntry[] = [];
  for (const name of names.reverse()) {
    if (out.length >= q.limit) break;
    const entry = await readEntry(storage, name);
    if (!entry) continue;
    const timeMs = Date.parse(entry.time);
    // The log is in index order, which is time order: nothing older can match.
    if (q.sinceMs !== undefined && timeMs < q.sinceMs) break;
    if (q.untilMs !== undefined && timeMs > q.untilMs) continue;
    if (q.prefix !== undefined && !entry.key.startsWith(q.prefix)) continue;
    if (
      q.author !== undefined &&
      entry.author.display_name !== q.author &&
      entry.author.accessor !== q.author
    ) {
      continue;
    }
    if (q.visible && !q.visible(entry.key)) continue;
    out.push(entry);
  }
  return out;
}

/**
 * What every key under `prefix` that changed after `timeMs` looked like at
 * that time: the `before` of its earliest change after it (null: absent).
 * Keys with no change since are left out: they already hold that state.
 */
export async function stateAt(
  storage: Storage,
  prefix: string,
  timeMs: number,
): Promise<Map<string, HistoryValue | null>> {
  const names = (await storage.list(LOG)).filter((n) => !n.endsWith('/'));
  const state = new Map<string, HistoryValue | null>();
  for (const name of names.reverse()) {
    const entry = await readEntry(storage, name);
    if (!entry) continue;
    if (Date.parse(entry.time) <= timeMs) break;
    // Walking backwards, the last assignment is the earliest change after timeMs.
    if (entry.key.startsWith(prefix)) state.set(entry.key, entry.before);
  }
  return state;
}

/**
 * Storage deletes that apply the retention settings: the oldest entries of
 * each key in `keys` past `maxEntriesPerKey`, and every entry older than
 * `maxAgeMs`.
 */
export async function pruneOps(
  storage: Storage,
  keys: Iterable<string>,
  opts: HistoryOptions,
  nowMs: number,
): Promise<TxnOp[]> {
  const ops: TxnOp[] = [];
  const drop = (key: string, name: string) => {
    ops.push({ op: 'delete', key: LOG + name }, { op: 'delete', key: keyFolder(key) + name });
  };
  const max = opts.maxEntriesPerKey ?? 0;
  const dropped = new Set<string>();
  if (max > 0) {
    for (const key of keys) {
      const names = (await storage.list(keyFolder(key))).filter((n) => !n.endsWith('/'));
      for (const name of names.slice(0, Math.max(0, names.length - max))) {
        drop(key, name);
        dropped.add(name);
      }
    }
  }
  const maxAge = opts.maxAgeMs ?? 0;
  if (maxAge > 0) {
    for (const name of (await storage.list(LOG)).filter((n) => !n.endsWith('/'))) {
      if (dropped.has(name)) continue;
      const entry = await readEntry(storage, name);
      if (!entry) continue;
      if (Date.parse(entry.time) >= nowMs - maxAge) break;
      drop(entry.key, name);
    }
  }
  return ops;
}
