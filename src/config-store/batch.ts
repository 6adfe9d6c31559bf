/**
 * One write to the config store, with Consul's state-store semantics for
 * every KV verb and session change. Reads see the batch's own earlier
 * writes (a transaction that sets a key and then gets it sees the new
 * value); nothing reaches storage until the store commits the batch as
 * one storage transaction, and a batch that throws is simply dropped, so
 * a failed request leaves nothing behind.
 *
 * Every change in a batch shares one index, as every change in one Raft
 * entry shares it in Consul.
 */
import { compareKeys } from '../storage/keys.ts';
import type { Storage, TxnOp } from '../storage/types.ts';
import { stateError } from './errors.ts';
import type { Change } from './history.ts';
import { decodeEntry, encodeEntry, type KvEntry, sameContent } from './kv-entry.ts';
import { collectUnder, KV, LOCK, lockMarker, SESSION, TOMB } from './layout.ts';
import { decodeSession, encodeSession, type SessionRecord } from './sessions.ts';

/** The value, flags and session a verb writes, as the client sent them. */
export interface EntryInput {
  key: string;
  value: Buffer | null;
  flags: bigint;
  session?: string;
}

export class Batch {
  readonly index: number;
  readonly nowMs: number;
  /** Keys whose lock delay runs after the commit, and until when. */
  readonly lockDelays = new Map<string, number>();
  readonly createdSessions: SessionRecord[] = [];
  readonly destroyedSessions: string[] = [];

  readonly #storage: Storage;
  readonly #lockDelayed: (key: string) => boolean;
  readonly #kv = new Map<string, KvEntry | null>();
  readonly #kvBefore = new Map<string, KvEntry | null>();
  readonly #tombs = new Map<string, number>();
  readonly #sessions = new Map<string, SessionRecord | null>();
  readonly #sessionsBefore = new Map<string, SessionRecord | null>();
  /** `lock/<session>/<key>` markers to write (true) or remove (false). */
  readonly #locks = new Map<string, boolean>();

  constructor(
    storage: Storage,
    opts: { index: number; nowMs: number; lockDelayed: (key: string) => boolean },
  ) {
    this.#storage = storage;
    this.index = opts.index;
    this.nowMs = opts.nowMs;
    this.#lockDelayed = opts.lockDelayed;
  }

  // ---- reads ---------------------------------------------------------------------------------

  async entry(key: string): Promise<KvEntry | undefined> {
    if (this.#kv.has(key)) return this.#kv.get(key) ?? undefined;
    const raw = await this.#storage.get(KV + key);
    const entry = raw ? decodeEntry(key, raw) : null;
    this.#kv.set(key, entry);
    this.#kvBefore.set(key, entry);
    return entry ?? undefined;
  }

  async session(id: string): Promise<SessionRecord | undefined> {
    if (this.#sessions.has(id)) return this.#sessions.get(id) ?? undefined;
    const raw = await this.#storage.get(SESSION + id);
    const record = raw ? decodeSession(raw) : null;
    this.#sessions.set(id, record);
    this.#sessionsBefore.set(id, record);
    return record ?? undefined;
  }

  /** Every existing key starting with `prefix`, storage and batch together, in key order. */
  async keysWithPrefix(prefix: string): Promise<string[]> {
    const keys = new Set(await collectUnder(this.#storage, KV, prefix));
    for (const [key, entry] of this.#kv) {
      if (!key.startsWith(prefix)) continue;
      if (entry) keys.add(key);
      else keys.delete(key);
    }
    return [...keys].sort(compareKeys);
  }

  async entriesWithPrefix(prefix: string): Promise<KvEntry[]> {
    const out: KvEntry[] = [];
    for (const key of await this.keysWithPrefix(prefix)) {
      const entry = await this.entry(key);
      if (entry) out.push(entry);
    }
    return out;
  }

  // ---- KV verbs: Consul's kvsSetTxn, kvsSetCASTxn, kvsLockTxn, ... ---------------------------

  /**
   * A plain set. The lock holder is kept (a set never takes or drops a
   * lock) and, as in Consul, LockIndex is what the request carried: 0.
   * A set that changes nothing keeps the old ModifyIndex and writes nothing.
   */
  async set(input: EntryInput): Promise<KvEntry> {
    const existing = await this.entry(input.key);
    return this.#put(input, { session: existing?.session ?? '', lockIndex: 0 }, existing);
  }

  /** Check-and-set: index 0 creates only; any other index must equal the ModifyIndex. */
  async cas(input: EntryInput, index: bigint): Promise<KvEntry | undefined> {
    const existing = await this.entry(input.key);
    if (index === 0n ? existing !== undefined : existing?.modifyIndex !== Number(index)) {
      return undefined;
    }
    return this.set(input);
  }

  /**
   * Lock acquisition with `input.session`. Undefined when another session
   * holds the lock or the key is in its lock delay; the holder acquiring
   * again succeeds and keeps its LockIndex.
   */
  async lock(input: EntryInput): Promise<KvEntry | undefined> {
    const session = input.session ?? '';
    if (session === '') throw stateError('missing session');
    if (!(await this.session(session)))
      throw stateError(`invalid session ${JSON.stringify(session)}`);
    if (this.#lockDelayed(input.key)) return undefined;

    const existing = await this.entry(input.key);
    if (existing && existing.session !== '' && existing.session !== session) return undefined;
    const lockIndex = !existing
      ? 1
      : existing.session === session
        ? existing.lockIndex
        : existing.lockIndex + 1;
    if (existing?.session !== session) this.#locks.set(lockMarker(session, input.key), true);
    return this.#put(input, { session, lockIndex }, existing);
  }

  /** Lock release: only by the holder; the value and flags are written too, as in Consul. */
  async unlock(input: EntryInput): Promise<KvEntry | undefined> {
    const session = input.session ?? '';
    if (session === '') throw stateError('missing session');
    const existing = await this.entry(input.key);
    if (!existing || existing.session !== session) return undefined;
    this.#locks.set(lockMarker(session, input.key), false);
    return this.#put(input, { session: '', lockIndex: existing.lockIndex }, existing);
  }

  /** Deletes one key, leaving a tombstone so a blocking list of its prefix sees the change. */
  async delete(key: string): Promise<void> {
    const existing = await this.entry(key);
    if (!existing) return;
    this.#tombs.set(key, this.index);
    this.#remove(existing);
  }

  /** Delete-if-index: true when deleted, or when there was nothing to delete (Consul's answer). */
  async deleteCas(key: string, index: bigint): Promise<boolean> {
    const existing = await this.entry(key);
    if (!existing || existing.modifyIndex !== Number(index)) return existing === undefined;
    await this.delete(key);
    return true;
  }

  /** Deletes every key under `prefix`; one tombstone for the prefix (none for the root). */
  async deleteTree(prefix: string): Promise<void> {
    let deleted = false;
    for (const key of await this.keysWithPrefix(prefix)) {
      const existing = await this.entry(key);
      if (!existing) continue;
      this.#remove(existing);
      deleted = true;
    }
    if (deleted && prefix !== '') this.#tombs.set(prefix, this.index);
  }

  // ---- sessions ------------------------------------------------------------------------------

  createSession(record: SessionRecord): void {
    this.#sessions.set(record.id, { ...record, createIndex: this.index, modifyIndex: this.index });
    this.createdSessions.push(record);
  }

  /**
   * Removes a session and invalidates its locks: released (the key stays,
   * unlocked) or deleted, per its behavior, each key then held back from
   * new locks for the session's lock delay. False when there is no such
   * session.
   */
  async destroySession(id: string): Promise<boolean> {
    const record = await this.session(id);
    if (!record) return false;
    for (const key of await this.#heldKeys(id)) {
      const existing = await this.entry(key);
      if (!existing || existing.session !== id) continue;
      if (record.behavior === 'delete') {
        await this.delete(key);
      } else {
        this.#kv.set(key, {
          ...existing,
          session: '',
          modifyIndex: this.index,
        });
        this.#locks.set(lockMarker(id, key), false);
      }
      if (record.lockDelayNs > 0) this.lockDelays.set(key, this.nowMs + record.lockDelayNs / 1e6);
    }
    this.#sessions.set(id, null);
    this.destroyedSessions.push(id);
    return true;
  }

  // ---- commit ----------------------------------------------------------------------------------

  /** The KV changes the batch makes, each key once: its state before and after. */
  changes(): Change[] {
    const out: Change[] = [];
    for (const [key, after] of this.#kv) {
      const before = this.#kvBefore.get(key) ?? null;
      if (before === after) continue;
      out.push({ key, before, after });
    }
    return out.sort((a, b) => compareKeys(a.key, b.key));
  }

  get kvChanged(): boolean {
    return this.changes().length > 0 || this.#tombs.size > 0;
  }

  get sessionsChanged(): boolean {
    for (const [id, after] of this.#sessions) {
      if (after !== this.#sessionsBefore.get(id)) return true;
    }
    return false;
  }

  /** Storage writes for the KV entries, tombstones, sessions and lock markers. */
  ops(): TxnOp[] {
    const ops: TxnOp[] = [];
    for (const { key, after } of this.changes()) {
      ops.push(
        after
          ? { op: 'put', key: KV + key, value: encodeEntry(after) }
          : { op: 'delete', key: KV + key },
      );
    }
    for (const [key, index] of this.#tombs) {
      const value = Buffer.from(JSON.stringify({ i: index, t: this.nowMs }));
      ops.push({ op: 'put', key: TOMB + key, value });
    }
    for (const [id, after] of this.#sessions) {
      if (after === this.#sessionsBefore.get(id)) continue;
      ops.push(
        after
          ? { op: 'put', key: SESSION + id, value: encodeSession(after) }
          : { op: 'delete', key: SESSION + id },
      );
    }
    for (const [marker, present] of this.#locks) {
      ops.push(
        present
          ? { op: 'put', key: LOCK + marker, value: Buffer.alloc(0) }
          : { op: 'delete', key: LOCK + marker },
      );
    }
    return ops;
  }

  // ---- internals -------------------------------------------------------------------------------

  #put(
    input: EntryInput,
    fields: { session: string; lockIndex: number },
    existing: KvEntry | undefined,
  ): KvEntry {
    const candidate: KvEntry = {
      key: input.key,
      value: input.value !== null && input.value.length === 0 ? null : input.value,
      flags: input.flags,
      createIndex: existing?.createIndex ?? this.index,
      modifyIndex: this.index,
      lockIndex: fields.lockIndex,
      session: fields.session,
    };
    // Consul skips a write that changes nothing and keeps the ModifyIndex
    // (a holder re-acquiring its lock with the same value, say).
    if (existing && sameContent(existing, candidate)) return existing;
    this.#kv.set(input.key, candidate);
    return candidate;
  }

  #remove(existing: KvEntry): void {
    if (existing.session !== '') this.#locks.set(lockMarker(existing.session, existing.key), false);
    this.#kv.set(existing.key, null);
  }

  /** Keys the session holds: its stored markers, with this batch's own changes applied. */
  async #heldKeys(id: string): Promise<string[]> {
    const folder = `${LOCK}${id}/`;
    const keys = new Set(
      (await this.#storage.list(folder))
        .filter((n) => !n.endsWith('/'))
        .map((n) => decodeURIComponent(n)),
    );
    const prefix = `${id}/`;
    for (const [marker, present] of this.#locks) {
      if (!marker.startsWith(prefix)) continue;
      const key = decodeURIComponent(marker.slice(prefix.length));
      if (present) keys.add(key);
      else keys.delete(key);
    }
    return [...keys];
  }
}
