/**
 * The config store: Consul's KV model (entries, indexes, tombstones,
 * sessions and locks) on Keep's storage interface, behind the barrier.
 *
 * Indexes. Consul numbers every change with its Raft index; here every
 * change is numbered from the storage revision: a write takes
 * `revision() + 1`, read under the store's write lock just before it
 * commits. When no other part of Keep writes in between, that is exactly
 * the revision the commit lands at; when something does, the number is
 * lower than the commit's revision but still above every earlier index,
 * because the next write reads a revision at least as high. So indexes
 * only grow, are never shared by two writes, and are never ahead of
 * storage, which is what Consul's blocking clients need. On etcd the
 * revision is etcd's own.
 *
 * Blocking queries subscribe to the change feed (one storage watch) before
 * reading, so a write between the read and the wait still wakes them.
 *
 * Atomicity. A write (a PUT, a DELETE, a transaction, a session change)
 * runs as one `Batch` under the write lock and commits as one storage
 * transaction together with its history entries, or not at all. On one
 * node the lock makes check-and-set and lock acquisition exact; several
 * HA nodes must send their config writes to the active node, the only one
 * that writes (see README, Compatibility notes).
 */
import { randomUUID } from 'node:crypto';
import type { BackendLogger } from '../framework/types.ts';
import type { Storage } from '../storage/types.ts';
import { Batch } from './batch.ts';
import type { ChangeFeed } from './change-feed.ts';
import { ConsulError } from './errors.ts';
import {
  type Author,
  type Change,
  type HistoryEntry,
  type HistoryOptions,
  type HistoryQuery,
  historyOps,
  keyHistory,
  pruneOps,
  searchHistory,
  stateAt,
} from './history.ts';
import { decodeEntry, type KvEntry, sameValue } from './kv-entry.ts';
import { collectUnder, KV, META, SESSION, TOMB } from './layout.ts';
import { RwLock } from './rw-lock.ts';
import {
  DEFAULT_SESSION_TTL_MIN_NS,
  decodeSession,
  type SessionRecord,
  type SessionRequest,
  ttlDeadlineMs,
  validateSession,
} from './sessions.ts';

/** Consul's default `tombstone_ttl`: how long a delete keeps moving its prefix's index. */
const TOMBSTONE_TTL_MS = 15 * 60_000;
/** How often sessions, lock delays, tombstones and history retention are looked after. */
const SWEEP_INTERVAL_MS = 1000;

interface Meta {
  kv: number;
  session: number;
}

export interface ConfigStoreOptions {
  /** Storage behind the barrier, keys relative to the store's prefix. */
  storage: Storage;
  /** Changes under the same prefix, keys relative to it. */
  changes: ChangeFeed;
  /** This server's node name, the only node sessions can belong to. */
  nodeName: string;
  /** Milliseconds since the epoch; tests pass a controllable clock. */
  clock?: () => number;
  /** Consul's `session_ttl_min`, in nanoseconds. */
  sessionTtlMinNs?: number;
  /**
   * Identifies the current unseal (any value that changes at each unseal),
   * or undefined while sealed: session TTL timers are armed afresh for
   * each, as Consul's new leader arms them.
   */
  epoch?: () => number | undefined;
  history?: HistoryOptions;
  logger?: BackendLogger;
}

export interface Read<T> {
  index: number;
  value: T;
}

export interface BlockingOptions {
  /** Consul's `?index`: wait while the result's index is at or below it. 0: answer at once. */
  minIndex: bigint;
  /** When to answer anyway, in ms since the epoch. */
  deadlineMs: number;
  /** Aborts the wait (client went away); the current state is returned. */
  signal?: AbortSignal;
}

export class ConfigStore {
  readonly nodeName: string;
  readonly #storage: Storage;
  readonly #changes: ChangeFeed;
  readonly #lock = new RwLock();
  readonly #clock: () => number;
  readonly #ttlMinNs: number;
  readonly #epoch: () => number | undefined;
  readonly #history: HistoryOptions;
  readonly #logger: BackendLogger | undefined;
  /** Key → time its lock delay ends (ms). In memory, per node, as in Consul. */
  readonly #lockDelays = new Map<string, number>();
  /** Session → TTL invalidation timer. */
  readonly #ttlTimers = new Map<string, NodeJS.Timeout>();
  /** The unseal the TTL timers were armed for. */
  #timersEpoch: number | undefined;
  /** Keys written since the last retention pass. */
  readonly #touched = new Set<string>();
  #lastReapMs = 0;
  /** Bumped by a restore: blocked queries return even if their index went backwards. */
  #generation = 0;
  #sweeper: NodeJS.Timeout | undefined;

  constructor(opts: ConfigStoreOptions) {
    this.#storage = opts.storage;
    this.#changes = opts.changes;
    this.nodeName = opts.nodeName;
    this.#clock = opts.clock ?? Date.now;
    this.#ttlMinNs = opts.sessionTtlMinNs ?? DEFAULT_SESSION_TTL_MIN_NS;
    this.#epoch = opts.epoch ?? (() => 0);
    this.#history = opts.history ?? {};
    this.#logger = opts.logger;
  }

  /** The store's clock, in ms since the epoch. */
  now(): number {
    return this.#clock();
  }

  /** Starts the background pass (TTL timers after an unseal, tombstones, retention). */
  start(): void {
    this.#sweeper ??= setInterval(() => {
      this.sweep().catch((err) => {
        this.#logger?.warn({ err: (err as Error).message }, 'config store sweep failed');
      });
    }, SWEEP_INTERVAL_MS);
    this.#sweeper.unref();
  }

  /** Stops timers and releases every blocked query. */
  close(): void {
    if (this.#sweeper) clearInterval(this.#sweeper);
    this.#sweeper = undefined;
    this.#clearTimers();
    this.#changes.close();
  }

  // ---- reads ---------------------------------------------------------------------------------

  /**
   * One key. The index is the entry's ModifyIndex, or for a missing key the
   * KV table's index (at least 1, so a client never blocks on index 0).
   */
  async getKey(key: string): Promise<Read<KvEntry | undefined>> {
    return this.#lock.read(async () => {
      const raw = await this.#storage.get(KV + key);
      if (raw) {
        const entry = decodeEntry(key, raw);
        return { index: entry.modifyIndex, value: entry };
      }
      return { index: Math.max(1, (await this.#meta()).kv), value: undefined };
    });
  }

  /**
   * Every entry whose key starts with `prefix`. The index is the highest
   * ModifyIndex among them and the prefix's tombstones, so deleting a key
   * moves it too; the KV table's index when there is neither, or for the
   * whole store.
   */
  async list(prefix: string): Promise<Read<KvEntry[]>> {
    return this.#lock.read(async () => {
      const entries: KvEntry[] = [];
      let index = 0;
      for (const key of await collectUnder(this.#storage, KV, prefix)) {
        const raw = await this.#storage.get(KV + key);
        if (!raw) continue;
        const entry = decodeEntry(key, raw);
        entries.push(entry);
        index = Math.max(index, entry.modifyIndex);
      }
      const meta = await this.#meta();
      if (prefix === '') index = meta.kv;
      else index = Math.max(index, await this.#tombstoneIndex(prefix));
      return { index: Math.max(1, index || meta.kv), value: entries };
    });
  }

  async getSession(id: string): Promise<Read<SessionRecord | undefined>> {
    return this.#lock.read(async () => {
      this.#armTimers();
      const raw = await this.#storage.get(SESSION + id);
      const index = Math.max(1, (await this.#meta()).session);
      return { index, value: raw ? decodeSession(raw) : undefined };
    });
  }

  async listSessions(): Promise<Read<SessionRecord[]>> {
    return this.#lock.read(async () => {
      this.#armTimers();
      const out: SessionRecord[] = [];
      for (const id of await collectUnder(this.#storage, SESSION, '')) {
        const raw = await this.#storage.get(SESSION + id);
        if (raw) out.push(decodeSession(raw));
      }
      const index = Math.max(1, (await this.#meta()).session);
      return { index, value: out.sort((a, b) => a.createIndex - b.createIndex) };
    });
  }

  /** Storage key filters for `blocking`: what can move each kind of query's index. */
  static keyWatch(key: string): (storageKey: string) => boolean {
    return (k) => k === KV + key;
  }

  static prefixWatch(prefix: string): (storageKey: string) => boolean {
    return (k) =>
      (k.startsWith(KV) && k.slice(KV.length).startsWith(prefix)) ||
      (k.startsWith(TOMB) && k.slice(TOMB.length).startsWith(prefix));
  }

  static sessionWatch(): (storageKey: string) => boolean {
    return (k) => k.startsWith(SESSION);
  }

  /**
   * Consul's blocking query: answers at once without `minIndex`; otherwise
   * waits until the read's index is above it, the deadline passes, the
   * client goes away or a restore replaces the data, then answers the
   * current state.
   */
  async blocking<T>(
    read: () => Promise<Read<T>>,
    watch: (storageKey: string) => boolean,
    opts: BlockingOptions,
  ): Promise<Read<T>> {
    if (opts.minIndex === 0n) return read();
    const generation = this.#generation;
    for (;;) {
      const sub = this.#changes.subscribe(watch);
      let result: Read<T>;
      try {
        result = await read();
      } catch (err) {
        sub.cancel();
        throw err;
      }
      const remaining = opts.deadlineMs - this.#clock();
      const done =
        BigInt(result.index) > opts.minIndex ||
        remaining <= 0 ||
        opts.signal?.aborted ||
        this.#changes.closed ||
        generation !== this.#generation;
      if (done) {
        sub.cancel();
        return result;
      }
      const timer = setTimeout(sub.cancel, remaining);
      const onAbort = () => sub.cancel();
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      await sub.changed;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
    }
  }

  // ---- writes --------------------------------------------------------------------------------

  /**
   * Runs `fn` on a fresh batch under the write lock and commits what it
   * changed, with its history, as one storage transaction. If `fn` throws,
   * nothing is written.
   */
  async write<T>(
    author: Author,
    fn: (batch: Batch) => Promise<T>,
    opts: { cause?: string } = {},
  ): Promise<T> {
    const outcome = await this.#lock.write(async () => {
      this.#armTimers();
      const meta = await this.#meta();
      const revision = await this.#storage.revision();
      // Never at or below an index already handed out (a restore can move revisions back).
      const index = Math.max(revision, meta.kv, meta.session) + 1;
      const batch = new Batch(this.#storage, {
        index,
        nowMs: this.#clock(),
        lockDelayed: (key) => (this.#lockDelays.get(key) ?? 0) > this.#clock(),
      });
      const result = await fn(batch);
      await this.#commit(batch, meta, author, opts.cause);
      return { result, batch };
    });
    this.#afterCommit(outcome.batch);
    return outcome.result;
  }

  /** Whether `key` is in a lock delay now (a lock attempt would fail). */
  lockDelayed(key: string): boolean {
    return (this.#lockDelays.get(key) ?? 0) > this.#clock();
  }

  /** Validates a create request and stores the session; returns its ID. */
  async createSession(request: SessionRequest, author: Author): Promise<string> {
    validateSession(request, { nodeName: this.nodeName, ttlMinNs: this.#ttlMinNs });
    const id = randomUUID();
    await this.write(author, async (batch) => {
      batch.createSession({
        id,
        name: request.name,
        node: request.node,
        lockDelayNs: request.lockDelayNs,
        behavior: request.behavior === 'delete' ? 'delete' : 'release',
        ttl: request.ttl,
        nodeChecks: request.nodeChecks,
        createIndex: 0,
        modifyIndex: 0,
        owner: author.accessor,
      });
    });
    return id;
  }

  async destroySession(id: string, author: Author, cause?: string): Promise<boolean> {
    return this.write(author, (batch) => batch.destroySession(id), { cause });
  }

  /** Restarts a TTL session's clock; undefined for an unknown session. */
  async renewSession(id: string): Promise<SessionRecord | undefined> {
    const { value } = await this.getSession(id);
    if (value) this.#armTimer(value);
    return value;
  }

  // ---- history -------------------------------------------------------------------------------

  async history(key: string, limit: number): Promise<HistoryEntry[]> {
    return this.#lock.read(() => keyHistory(this.#storage, key, limit));
  }

  async searchHistory(query: HistoryQuery): Promise<HistoryEntry[]> {
    return this.#lock.read(() => searchHistory(this.#storage, query));
  }

  /**
   * Puts `target` (one key, or with `recurse` every key starting with it)
   * back as it was at `toMs`, as one write recorded in history with the
   * cause `rollback`. `check` refuses a key the caller may not change
   * (throwing aborts the whole rollback). Returns the keys changed.
   */
  async rollback(
    target: string,
    opts: {
      recurse: boolean;
      toMs: number;
      author: Author;
      check: (key: string, change: 'write' | 'delete', exists: boolean) => void;
    },
  ): Promise<{ index: number; changed: string[] }> {
    return this.write(
      opts.author,
      async (batch) => {
        const changed: string[] = [];
        const states = await stateAt(this.#storage, target, opts.toMs);
        for (const [key, past] of states) {
          if (!opts.recurse && key !== target) continue;
          const current = await batch.entry(key);
          if (past === null) {
            if (!current) continue;
            opts.check(key, 'delete', true);
            await batch.delete(key);
          } else {
            if (past.value === undefined) {
              throw new ConsulError(
                400,
                `cannot roll back ${JSON.stringify(key)}: its history keeps only a hash of the value`,
              );
            }
            const value = past.value === null ? null : Buffer.from(past.value, 'base64');
            const flags = BigInt(past.flags);
            if (current && current.flags === flags && sameValue(current.value, value)) continue;
            opts.check(key, 'write', current !== undefined);
            await batch.set({ key, value, flags });
          }
          changed.push(key);
        }
        return { index: changed.length > 0 ? batch.index : 0, changed };
      },
      { cause: 'rollback' },
    );
  }

  /** Runs `fn` with every config-store read and write held off (a snapshot restore). */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.#lock.write(fn);
  }

  /** Called after a snapshot restore replaced everything: indexes may have gone backwards. */
  restored(): void {
    this.#generation++;
    this.#lockDelays.clear();
    this.#clearTimers();
    this.#changes.wakeAll();
  }

  // ---- background ----------------------------------------------------------------------------

  /** One background pass; exported for tests, run every second by `start`. */
  async sweep(): Promise<void> {
    if (this.#epoch() === undefined) {
      this.#clearTimers();
      return;
    }
    await this.#lock.read(async () => this.#armTimers());
    const now = this.#clock();
    for (const [key, until] of this.#lockDelays) if (until <= now) this.#lockDelays.delete(key);
    if (now - this.#lastReapMs >= 60_000) {
      this.#lastReapMs = now;
      await this.#reapTombstones(now);
    }
    await this.#applyRetention(now);
  }

  // ---- internals -----------------------------------------------------------------------------

  async #meta(): Promise<Meta> {
    const raw = await this.#storage.get(META);
    return raw ? (JSON.parse(raw.toString('utf8')) as Meta) : { kv: 0, session: 0 };
  }

  async #tombstoneIndex(prefix: string): Promise<number> {
    let index = 0;
    for (const key of await collectUnder(this.#storage, TOMB, prefix)) {
      const raw = await this.#storage.get(TOMB + key);
      if (raw) index = Math.max(index, (JSON.parse(raw.toString('utf8')) as { i: number }).i);
    }
    return index;
  }

  async #commit(batch: Batch, meta: Meta, author: Author, cause?: string): Promise<void> {
    const ops = batch.ops();
    if (ops.length === 0) return;
    const changes: Change[] = batch.changes();
    const next: Meta = {
      kv: batch.kvChanged ? batch.index : meta.kv,
      session: batch.sessionsChanged ? batch.index : meta.session,
    };
    ops.push({ op: 'put', key: META, value: Buffer.from(JSON.stringify(next)) });
    ops.push(
      ...historyOps(changes, {
        index: batch.index,
        timeMs: batch.nowMs,
        author,
        cause,
        opts: this.#history,
      }),
    );
    await this.#storage.transaction(ops);
    for (const change of changes) this.#touched.add(change.key);
  }

  #afterCommit(batch: Batch): void {
    for (const [key, until] of batch.lockDelays) this.#lockDelays.set(key, until);
    for (const id of batch.destroyedSessions) this.#clearTimer(id);
    for (const record of batch.createdSessions) this.#armTimer(record);
  }

  /** Arms a timer for every TTL session once per unseal (Consul's leader does this on election). */
  #armTimers(): void {
    const epoch = this.#epoch();
    if (epoch === undefined || epoch === this.#timersEpoch) return;
    this.#clearTimers();
    this.#timersEpoch = epoch;
    void collectUnder(this.#storage, SESSION, '')
      .then(async (ids) => {
        for (const id of ids) {
          const raw = await this.#storage.get(SESSION + id);
          if (raw && this.#epoch() === epoch) this.#armTimer(decodeSession(raw));
        }
      })
      .catch((err) => {
        this.#timersEpoch = undefined;
        this.#logger?.warn({ err: (err as Error).message }, 'could not arm session TTL timers');
      });
  }

  #armTimer(record: SessionRecord): void {
    const deadline = ttlDeadlineMs(record, this.#clock());
    if (deadline === undefined) return;
    this.#clearTimer(record.id);
    const timer = setTimeout(() => {
      this.#ttlTimers.delete(record.id);
      this.#expire(record.id);
    }, deadline - this.#clock());
    timer.unref();
    this.#ttlTimers.set(record.id, timer);
  }

  #expire(id: string): void {
    if (this.#epoch() === undefined) return;
    const author = { displayName: 'session TTL', accessor: '', remoteAddr: '' };
    this.destroySession(id, author, 'session-invalidated').then(
      (found) => {
        if (found) this.#logger?.info({ session: id }, 'session TTL expired; session invalidated');
      },
      (err) => {
        this.#logger?.warn({ session: id, err: (err as Error).message }, 'session expiry failed');
      },
    );
  }

  #clearTimer(id: string): void {
    const timer = this.#ttlTimers.get(id);
    if (timer) clearTimeout(timer);
    this.#ttlTimers.delete(id);
  }

  #clearTimers(): void {
    for (const timer of this.#ttlTimers.values()) clearTimeout(timer);
    this.#ttlTimers.clear();
    this.#timersEpoch = undefined;
  }

  /**
   * Drops tombstones older than Consul's tombstone TTL. A prefix's index
   * can then go backwards, which Consul's clients are written to handle.
   */
  async #reapTombstones(now: number): Promise<void> {
    await this.#lock.write(async () => {
      const ops = [];
      for (const key of await collectUnder(this.#storage, TOMB, '')) {
        const raw = await this.#storage.get(TOMB + key);
        if (!raw) continue;
        const { t } = JSON.parse(raw.toString('utf8')) as { t: number };
        if (now - t >= TOMBSTONE_TTL_MS) ops.push({ op: 'delete' as const, key: TOMB + key });
      }
      if (ops.length > 0) await this.#storage.transaction(ops);
    });
  }

  async #applyRetention(now: number): Promise<void> {
    if (!this.#history.maxEntriesPerKey && !this.#history.maxAgeMs) return;
    const keys = [...this.#touched];
    this.#touched.clear();
    await this.#lock.write(async () => {
      const ops = await pruneOps(this.#storage, keys, this.#history, now);
      if (ops.length > 0) await this.#storage.transaction(ops);
    });
  }
}
