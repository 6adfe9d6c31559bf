/**
 * The one storage interface every backend implements (memory, SQLite, later
 * etcd and PostgreSQL). Storage is untrusted: apart from the seal
 * configuration and the encrypted keyring, everything written through it is
 * barrier ciphertext.
 *
 * Keys are `/`-separated strings without a leading slash. Values are bytes.
 *
 * Rules every backend enforces alike (`assertKey` in keys.ts), rejecting with
 * an `Error` before anything is written:
 * - a key is a non-empty string that does not start with `/`, holds no NUL
 *   and no lone surrogate (PostgreSQL text cannot store NUL; a lone surrogate
 *   has no UTF-8 form);
 * - a key may end with `/` (Consul uses such keys as folder markers): it lists
 *   as a folder above it and as the empty name `''` inside its own folder.
 * Keys sort by their UTF-8 bytes (`compareKeys` in keys.ts), not by UTF-16.
 * A value is a `Buffer`; backends store a copy, and each `get` returns a fresh one.
 *
 * Every backend runs the shared suite in conformance.ts.
 */
export interface Storage {
  /** Returns the value, or undefined when the key does not exist. */
  get(key: string): Promise<Buffer | undefined>;
  /** Writes one key; returns the storage revision after the write. */
  put(key: string, value: Buffer): Promise<number>;
  /**
   * Deletes one key; returns the revision. Deleting a missing key is not an
   * error and changes nothing: no new revision, no watch event.
   */
  delete(key: string): Promise<number>;
  /**
   * Lists one level under `prefix` (which is empty or ends with `/`):
   * direct children by name, and sub-folders by name with a trailing `/`.
   * A name may appear both as a key and as a folder (`a` and `a/`). Sorted
   * by UTF-8 bytes, no duplicates. A missing folder lists as `[]`; any other
   * prefix is rejected with an `Error`.
   */
  list(prefix: string): Promise<string[]>;
  /**
   * Applies every operation, in order, or none (an invalid op rejects the
   * whole transaction); returns the revision after it. A transaction that
   * changes something takes exactly one new revision, shared by its events;
   * one that changes nothing (empty, or deletes of missing keys) takes none.
   */
  transaction(ops: TxnOp[]): Promise<number>;
  /** The current revision: increases with every write that changes something, across restarts. */
  revision(): Promise<number>;
  /**
   * Calls `onEvent` for every change to a key starting with `prefix` (a plain
   * string prefix), after it is committed, in revision order, until the
   * returned function is called. `onEvent` must not throw: the write has
   * already happened, so single-node backends report a throw as an uncaught
   * exception rather than failing the writer or skipping other watchers.
   */
  watch(prefix: string, onEvent: (event: WatchEvent) => void): () => void;
  /** An HA lock, when the backend supports several nodes; undefined otherwise. */
  readonly haLock?: HALock;
  /** Short name shown in seal-status (`inmem`, `sqlite`, ...). */
  readonly type: string;
  close(): Promise<void>;
}

export type TxnOp = { op: 'put'; key: string; value: Buffer } | { op: 'delete'; key: string };

export interface WatchEvent {
  type: 'put' | 'delete';
  key: string;
  revision: number;
}

/** A lease-based leader lock shared by the nodes of one cluster. */
export interface HALock {
  /**
   * Waits until this node holds the lock; resolves with a handle to release it.
   * `ttlMs` overrides the backend's configured lease (`lock_timeout`). While
   * held, the backend fences this node's writes on the lock: once another node
   * has taken it, they fail with `LockLostError` instead of landing.
   * `signal` aborts the wait (the promise rejects).
   */
  acquire(holderId: string, opts: { ttlMs?: number; signal?: AbortSignal }): Promise<HeldLock>;
  /** Who holds the lock now, if anyone. */
  holder(): Promise<string | undefined>;
}

export interface HeldLock {
  /** Fires when the lock is lost (lease lapsed, backend unreachable). */
  readonly lost: AbortSignal;
  release(): Promise<void>;
}
