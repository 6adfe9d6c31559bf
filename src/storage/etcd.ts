import { readFileSync } from 'node:fs';
import {
  Etcd3,
  GRPCDeadlineExceededError,
  GRPCUnavailableError,
  type ICompare,
  type IOptions,
  type IRequestOp,
  type Lease,
} from 'etcd3';
import { assertKey, assertPrefix, assertValue, childName, folderEnd } from './keys.ts';
import { durationMs, isTrue, LockLostError, lockTtlMs, sleep } from './lock-util.ts';
import type { HALock, HeldLock, Storage, TxnOp, WatchEvent } from './types.ts';

/** Options of `storage "etcd" { ... }`, in Vault's names. */
export interface EtcdOptions {
  /** Comma-separated client URLs: `http://10.0.0.1:2379,http://10.0.0.2:2379`. */
  address?: string;
  /** Key prefix for everything Keep writes; Vault's default shape, `/keep/` here. */
  path?: string;
  ha_enabled?: boolean | string;
  tls_ca_file?: string;
  tls_cert_file?: string;
  tls_key_file?: string;
  username?: string;
  password?: string;
  /** TTL of the HA lock's lease (`"15s"`); Vault's default 15 s. */
  lock_timeout?: string | number;
  /** Per-request deadline (`"5s"`); Vault's default 5 s. */
  request_timeout?: string | number;
}

const DEFAULT_ADDRESS = 'http://127.0.0.1:2379';
const DEFAULT_PATH = '/keep/';
/** Keys fetched per round trip when listing: long folders are read page by page. */
const LIST_PAGE = 1000;

/**
 * Storage in an etcd v3 cluster, through the `etcd3` gRPC client. Revisions are
 * etcd's own store revisions, watches are etcd watches, and a transaction is one
 * etcd `Txn`, so a multi-key write lands whole or not at all. Reads are
 * linearizable (etcd's default): a read never misses a write acknowledged before
 * it began, whichever member answers.
 *
 * etcd refuses two operations on one key in a transaction, so ops on the same key
 * are collapsed to the last one (its final state is what the ops in order produce);
 * the watch then sees one event for that key.
 *
 * With the HA lock held, every write carries a compare on the lock key's create
 * revision: a node that lost the lock (lease lapsed while it was frozen, say) has
 * its writes refused by etcd itself, not merely by its own bookkeeping.
 *
 * Limits are etcd's: a request is at most `--max-request-bytes` (1.5 MiB by
 * default) and a transaction at most `--max-txn-ops` operations (128 by default).
 */
export class EtcdStorage implements Storage {
  readonly type = 'etcd';
  readonly haLock?: HALock;
  readonly #client: Etcd3;
  readonly #prefix: string;
  readonly #lockKey: Buffer;
  readonly #timeoutMs: number;
  /** Highest store revision seen in any response; watches start after it. */
  #seen = 0;
  /** Watches being created; writes wait for them so no event of theirs is missed. */
  #pendingWatches = new Set<Promise<unknown>>();
  /** Set while this node holds the HA lock: every write is conditional on it. */
  #fence: { createRevision: string; onLost: (err: Error) => void } | undefined;
  #closed = false;

  constructor(options: EtcdOptions = {}) {
    const hosts = (options.address ?? DEFAULT_ADDRESS)
      .split(',')
      .map((h) => h.trim())
      .filter(Boolean);
    if (hosts.length === 0) throw new Error('storage "etcd" needs at least one "address"');
    for (const host of hosts) {
      if (!/^https?:\/\/[^/]+\/?$/.test(host)) {
        throw new Error(`storage "etcd": invalid address ${JSON.stringify(host)}`);
      }
    }
    let path = options.path ?? DEFAULT_PATH;
    if (path !== '' && !path.endsWith('/')) path += '/';
    this.#prefix = path;
    this.#lockKey = Buffer.from(`${path}core/lock`);
    this.#timeoutMs = durationMs(options.request_timeout, 5000);

    const clientOptions: IOptions = { hosts, dialTimeout: Math.min(this.#timeoutMs, 2000) };
    if (options.tls_ca_file || hosts.some((h) => h.startsWith('https:'))) {
      clientOptions.credentials = {
        rootCertificate: options.tls_ca_file ? readFileSync(options.tls_ca_file) : Buffer.alloc(0),
        ...(options.tls_key_file ? { privateKey: readFileSync(options.tls_key_file) } : {}),
        ...(options.tls_cert_file ? { certChain: readFileSync(options.tls_cert_file) } : {}),
      };
    }
    if (options.username !== undefined) {
      clientOptions.auth = { username: options.username, password: options.password ?? '' };
    }
    this.#client = new Etcd3(clientOptions);
    if (isTrue(options.ha_enabled)) {
      this.haLock = new EtcdLock(this, lockTtlMs(options.lock_timeout));
    }
  }

  /** Checks that etcd answers; `openStorage` calls it so a bad address fails at start-up. */
  async ping(): Promise<void> {
    await this.revision();
  }

  async get(key: string): Promise<Buffer | undefined> {
    assertKey(key);
    const res = await this.#retry((call) => this.#client.kv.range({ key: this.#key(key) }, call));
    this.#note(res.header.revision);
    const kv = res.kvs[0];
    return kv ? Buffer.from(kv.value) : undefined;
  }

  async put(key: string, value: Buffer): Promise<number> {
    return this.transaction([{ op: 'put', key, value }]);
  }

  async delete(key: string): Promise<number> {
    return this.transaction([{ op: 'delete', key }]);
  }

  /**
   * Walks the keys under `prefix` in pages, keys only; on meeting a sub-folder it
   * seeks past it, so the round trips follow the names listed, not the keys beneath.
   */
  async list(prefix: string): Promise<string[]> {
    assertPrefix(prefix);
    const full = this.#prefix + prefix;
    const end = full === '' ? Buffer.from([0]) : Buffer.from(folderEnd(full));
    const names: string[] = [];
    let from: Buffer = Buffer.from(full);
    for (;;) {
      const start = from;
      const res = await this.#retry((call) =>
        this.#client.kv.range(
          { key: start, range_end: end, keys_only: true, limit: LIST_PAGE },
          call,
        ),
      );
      this.#note(res.header.revision);
      let next: Buffer | undefined;
      for (const kv of res.kvs) {
        const name = childName(full, kv.key.toString('utf8'));
        names.push(name);
        if (name.endsWith('/')) {
          next = Buffer.from(folderEnd(full + name));
          break;
        }
      }
      if (next === undefined) {
        if (!res.more || res.kvs.length === 0) return names;
        next = Buffer.concat([res.kvs[res.kvs.length - 1]!.key, Buffer.from([0])]);
      }
      from = next;
    }
  }

  async transaction(ops: TxnOp[]): Promise<number> {
    for (const op of ops) validateOp(op);
    // etcd refuses two ops on one key in a txn: keep each key's last op.
    const last = new Map<string, TxnOp>();
    for (const op of ops) {
      last.delete(op.key);
      last.set(op.key, op);
    }
    if (last.size === 0) return this.revision();
    if (this.#pendingWatches.size > 0) await Promise.allSettled([...this.#pendingWatches]);

    const success: IRequestOp[] = [...last.values()].map((op) =>
      op.op === 'put'
        ? { request_put: { key: this.#key(op.key), value: Buffer.from(op.value) } }
        : { request_delete_range: { key: this.#key(op.key) } },
    );
    const fence = this.#fence;
    const compare: ICompare[] = fence
      ? [
          {
            key: this.#lockKey,
            target: 'Create',
            result: 'Equal',
            create_revision: fence.createRevision,
          },
        ]
      : [];
    // Retried after a timeout: each op sets a final state, so a second apply changes no outcome.
    const res = await this.#retry((call) =>
      this.#client.kv.txn({ compare, success, failure: [] }, call),
    );
    this.#note(res.header.revision);
    if (!res.succeeded) {
      const err = new LockLostError();
      fence?.onLost(err);
      throw err;
    }
    return Number(res.header.revision);
  }

  async revision(): Promise<number> {
    const res = await this.#retry((call) =>
      this.#client.kv.range({ key: this.#lockKey, count_only: true }, call),
    );
    this.#note(res.header.revision);
    return Number(res.header.revision);
  }

  watch(prefix: string, onEvent: (event: WatchEvent) => void): () => void {
    let stopped = false;
    const builder = this.#client.watch().prefix(Buffer.from(this.#prefix + prefix));
    if (this.#seen > 0) builder.startRevision(String(this.#seen + 1));
    const created = builder.create();
    this.#pendingWatches.add(created);
    void created.finally(() => this.#pendingWatches.delete(created)).catch(() => {});
    created
      .then((watcher) => {
        if (stopped) {
          void watcher.cancel().catch(() => {});
          return;
        }
        watcher.on('error', () => {
          // The client re-establishes broken watches itself; a cancelled one
          // (compaction) is not recoverable here and simply stops.
        });
        watcher.on('data', (res) => {
          for (const ev of res.events) {
            if (stopped) return;
            const event: WatchEvent = {
              type: ev.type === 'Delete' ? 'delete' : 'put',
              key: ev.kv.key.toString('utf8').slice(this.#prefix.length),
              revision: Number(ev.kv.mod_revision),
            };
            this.#note(ev.kv.mod_revision);
            try {
              onEvent(event);
            } catch (err) {
              queueMicrotask(() => {
                throw err;
              });
            }
          }
        });
        stopWatcher = () => void watcher.cancel().catch(() => {});
      })
      .catch(() => {});
    let stopWatcher = () => {};
    return () => {
      stopped = true;
      stopWatcher();
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#client.close();
  }

  // ---- for the HA lock ----------------------------------------------------------------------

  /** @internal */
  get client(): Etcd3 {
    return this.#client;
  }

  /** @internal */
  get lockKey(): Buffer {
    return this.#lockKey;
  }

  /** @internal Makes every write conditional on the lock key's create revision. */
  setFence(fence: { createRevision: string; onLost: (err: Error) => void } | undefined): void {
    this.#fence = fence;
  }

  /** @internal */
  callOptions(): { deadline: Date } {
    return this.#call();
  }

  #key(key: string): Buffer {
    return Buffer.from(this.#prefix + key);
  }

  /**
   * Runs one call with a short deadline per attempt, trying again (another
   * member, as the client's pool picks) after a timeout or an unavailable
   * member, until `request_timeout` is spent: a dead member costs one attempt,
   * not the whole request.
   */
  async #retry<T>(fn: (call: { deadline: Date }) => Promise<T>): Promise<T> {
    const end = Date.now() + this.#timeoutMs;
    const attemptMs = Math.max(1000, Math.floor(this.#timeoutMs / 3));
    for (;;) {
      const deadline = new Date(Math.min(end, Date.now() + attemptMs));
      try {
        return await fn({ deadline });
      } catch (err) {
        const retryable =
          err instanceof GRPCDeadlineExceededError || err instanceof GRPCUnavailableError;
        if (!retryable || Date.now() >= end - 50 || this.#closed) throw err;
      }
    }
  }

  #call(): { deadline: Date } {
    return { deadline: new Date(Date.now() + this.#timeoutMs) };
  }

  #note(revision: string | number): void {
    const n = Number(revision);
    if (n > this.#seen) this.#seen = n;
  }
}

/**
 * The HA lock as an etcd lease plus a transaction: the lock key is created only
 * if it does not exist (`create_revision == 0`), bound to a lease that this node
 * keeps alive. A node that dies or freezes stops renewing; etcd revokes the lease
 * after its TTL and deletes the key, which the waiting standbys see through a
 * watch. Not `etcd3`'s Election: its leader cannot fence its own writes.
 */
class EtcdLock implements HALock {
  readonly #storage: EtcdStorage;
  readonly #ttlMs: number;

  constructor(storage: EtcdStorage, ttlMs: number) {
    this.#storage = storage;
    this.#ttlMs = ttlMs;
  }

  async holder(): Promise<string | undefined> {
    const res = await this.#storage.client.kv.range(
      { key: this.#storage.lockKey },
      this.#storage.callOptions(),
    );
    return res.kvs[0]?.value.toString('utf8');
  }

  async acquire(holderId: string, opts: { ttlMs?: number; signal?: AbortSignal }) {
    const ttlSeconds = Math.max(2, Math.ceil((opts.ttlMs ?? this.#ttlMs) / 1000));
    const client = this.#storage.client;
    const key = this.#storage.lockKey;
    for (;;) {
      opts.signal?.throwIfAborted();
      let lease: Lease | undefined;
      try {
        lease = client.lease(ttlSeconds, { autoKeepAlive: false });
        const leaseId = await lease.grant();
        const res = await client.kv.txn(
          {
            compare: [{ key, target: 'Create', result: 'Equal', create_revision: 0 }],
            success: [{ request_put: { key, value: Buffer.from(holderId), lease: leaseId } }],
            failure: [{ request_range: { key } }],
          },
          this.#storage.callOptions(),
        );
        if (res.succeeded) return this.#held(lease, res.header.revision, ttlSeconds * 1000);
        await lease.revoke().catch(() => {});
        lease = undefined;
        const holderKv = res.responses[0]?.response_range.kvs[0];
        await this.#waitForRelease(holderKv?.mod_revision, ttlSeconds * 1000, opts.signal);
      } catch (err) {
        if (lease) await lease.revoke().catch(() => {});
        if (opts.signal?.aborted) throw err;
        // etcd unreachable: try again shortly.
        await sleep(500, opts.signal);
      }
    }
  }

  /** Resolves when the lock key is deleted, or after a while to look again. */
  async #waitForRelease(
    seenRevision: string | undefined,
    ttlMs: number,
    signal?: AbortSignal,
  ): Promise<void> {
    const builder = this.#storage.client.watch().key(this.#storage.lockKey);
    if (seenRevision) builder.startRevision(String(Number(seenRevision) + 1));
    const watcher = await builder.create();
    try {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, ttlMs);
        watcher.on('delete', done);
        watcher.on('error', done);
        signal?.addEventListener('abort', done, { once: true });
      });
    } finally {
      await watcher.cancel().catch(() => {});
    }
  }

  #held(lease: Lease, createRevision: string, ttlMs: number): HeldLock {
    const lost = new AbortController();
    const storage = this.#storage;
    let lastRenewed = Date.now();
    let released = false;
    const lose = (err: Error) => {
      if (lost.signal.aborted) return;
      // The fence stays until `release`: a deposed holder's writes keep failing.
      clearInterval(timer);
      lost.abort(err);
      void lease.revoke().catch(() => {});
    };
    storage.setFence({ createRevision, onLost: lose });
    // Renew at a third of the TTL. A node that cannot renew for the TTL gives the
    // lock up itself: by then etcd may have handed it to another node.
    const timer = setInterval(
      () => {
        if (Date.now() - lastRenewed > ttlMs - 250) {
          lose(new LockLostError('the HA lock lease could not be renewed in time'));
          return;
        }
        // Counted from when the renewal was sent: etcd's new TTL starts no earlier.
        const sent = Date.now();
        lease
          .keepaliveOnce(storage.callOptions())
          .then((res) => {
            if (Number(res.TTL) <= 0) lose(new LockLostError('the HA lock lease expired'));
            else lastRenewed = Math.max(lastRenewed, sent);
          })
          .catch(() => {});
      },
      Math.max(200, Math.floor(ttlMs / 3)),
    );
    timer.unref();
    lease.on('lost', (err) =>
      lose(new LockLostError(`the HA lock lease was lost: ${err.message}`)),
    );
    return {
      lost: lost.signal,
      release: async () => {
        if (released) return;
        released = true;
        clearInterval(timer);
        storage.setFence(undefined);
        // Delete the key only if it is still ours, then drop the lease.
        await storage.client.kv
          .txn(
            {
              compare: [
                {
                  key: storage.lockKey,
                  target: 'Create',
                  result: 'Equal',
                  create_revision: createRevision,
                },
              ],
              success: [{ request_delete_range: { key: storage.lockKey } }],
              failure: [],
            },
            storage.callOptions(),
          )
          .catch(() => {});
        await lease.revoke().catch(() => {});
        if (!lost.signal.aborted) lost.abort(new LockLostError('the HA lock was released'));
      },
    };
  }
}

function validateOp(op: TxnOp): void {
  if (op.op !== 'put' && op.op !== 'delete') throw new Error('storage op must be put or delete');
  assertKey(op.key);
  if (op.op === 'put') assertValue(op.value);
}
