/**
 * The one storage interface every backend implements (memory, SQLite, later
 * etcd and PostgreSQL). Storage is untrusted: apart from the seal
 * configuration and the encrypted keyring, everything written through it is
 * barrier ciphertext.
 *
 * Keys are `/`-separated strings without a leading slash. Values are bytes.
 */
export interface Storage {
  /** Returns the value, or undefined when the key does not exist. */
  get(key: string): Promise<Buffer | undefined>;
  /** Writes one key; returns the storage revision after the write. */
  put(key: string, value: Buffer): Promise<number>;
  /** Deletes one key (a missing key is not an error); returns the revision. */
  delete(key: string): Promise<number>;
  /**
   * Lists one level under `prefix` (which is empty or ends with `/`):
   * direct children by name, and sub-folders by name with a trailing `/`.
   * A name may appear both as a key and as a folder. Sorted, no duplicates.
   */
  list(prefix: string): Promise<string[]>;
  /** Applies every operation or none; returns the revision after it. */
  transaction(ops: TxnOp[]): Promise<number>;
  /** The current revision: increases with every successful write. */
  revision(): Promise<number>;
  /**
   * Calls `onEvent` for every change under `prefix`, in revision order,
   * until the returned function is called.
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
  /** Waits until this node holds the lock; resolves with a handle to release it. */
  acquire(holderId: string, opts: { ttlMs: number; signal?: AbortSignal }): Promise<HeldLock>;
  /** Who holds the lock now, if anyone. */
  holder(): Promise<string | undefined>;
}

export interface HeldLock {
  /** Fires when the lock is lost (lease lapsed, backend unreachable). */
  readonly lost: AbortSignal;
  release(): Promise<void>;
}
