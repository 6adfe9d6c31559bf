/**
 * Two small concurrency helpers of the token store: a bounded cache of
 * entries and a per-token lock.
 */
import type { TokenEntry } from './entry.ts';

/**
 * Least-recently-used entries by token hash (a Map keeps insertion order, so
 * the first key is the oldest). `epoch` moves on every invalidation: a reader
 * that loaded an entry from storage caches it only if no invalidation
 * happened meanwhile, or it could put back an entry just revoked.
 */
export class EntryCache {
  #entries = new Map<string, TokenEntry>();
  #limit: number;
  epoch = 0;

  constructor(limit: number) {
    this.#limit = limit;
  }

  get(hash: string): TokenEntry | undefined {
    const entry = this.#entries.get(hash);
    if (entry) {
      this.#entries.delete(hash);
      this.#entries.set(hash, entry);
    }
    return entry;
  }

  /** Caches `entry` unless an invalidation happened since `epoch` was read. */
  set(entry: TokenEntry, epoch: number): void {
    if (epoch !== this.epoch || this.#limit <= 0) return;
    this.#entries.delete(entry.hash);
    this.#entries.set(entry.hash, entry);
    if (this.#entries.size > this.#limit) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
  }

  invalidate(hash: string): void {
    this.epoch++;
    this.#entries.delete(hash);
  }

  clear(): void {
    this.epoch++;
    this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }
}

/**
 * Serialises the read-modify-write steps on one token (use counting,
 * renewal, revocation marks, adding a child) within this process.
 */
export class KeyedLock {
  #tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => mine);
    this.#tails.set(key, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }
}
