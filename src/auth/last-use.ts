/**
 * When and from where a credential (a token, an AppRole secret ID) was last
 * used, recorded without putting a storage write on the request path.
 *
 * A use is noted in memory; a background flush writes each credential's
 * latest use at most once per interval, however often it was used. Reads
 * merge the unflushed value over the stored one, so this node shows a use at
 * once. The cost of the coalescing: a crash loses at most one interval of
 * last-use times, and another node sharing the storage sees them that late.
 */

export interface LastUse {
  /** Unix milliseconds. */
  timeMs: number;
  /** The client address, as the connection gave it. */
  addr: string;
}

export interface LastUseTrackerOptions {
  /** Shortest time between two writes for one credential; default 60 s. */
  intervalMs?: number;
  /**
   * Stores one credential's latest use. It must check that the credential
   * still exists (under the credential's own lock) and skip it when gone, so
   * a late flush cannot bring a revoked credential's record back.
   */
  write: (key: string, use: LastUse) => Promise<void>;
  /** Told about a failed write; the use is dropped (it is only a hint). */
  onError?: (err: unknown, key: string) => void;
}

export const DEFAULT_LAST_USE_INTERVAL_MS = 60_000;

export class LastUseTracker {
  readonly intervalMs: number;
  readonly #write: LastUseTrackerOptions['write'];
  readonly #onError: NonNullable<LastUseTrackerOptions['onError']>;
  /** Uses noted since the last flush began. */
  #pending = new Map<string, LastUse>();
  /** Uses a running flush is writing; still shown until their write lands. */
  #inFlight = new Map<string, LastUse>();
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;
  #closed = false;

  constructor(opts: LastUseTrackerOptions) {
    this.intervalMs = opts.intervalMs ?? DEFAULT_LAST_USE_INTERVAL_MS;
    this.#write = opts.write;
    this.#onError = opts.onError ?? (() => {});
  }

  /** Notes a use; costs a map update. */
  record(key: string, use: LastUse): void {
    if (this.#closed) return;
    this.#pending.set(key, use);
    this.#arm();
  }

  /** The latest use not yet in storage, if any. */
  unflushed(key: string): LastUse | undefined {
    return this.#pending.get(key) ?? this.#inFlight.get(key);
  }

  /** Drops a credential's unflushed use (it was deleted). */
  forget(key: string): void {
    this.#pending.delete(key);
    this.#inFlight.delete(key);
  }

  /** Writes every pending use now (before a seal, or in tests). */
  async flush(): Promise<void> {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    // One flush at a time: a second caller waits for the running one, then
    // writes whatever arrived meanwhile.
    while (this.#flushing) await this.#flushing;
    if (this.#pending.size === 0) return;
    this.#flushing = this.#writeBatch().finally(() => {
      this.#flushing = undefined;
    });
    await this.#flushing;
  }

  /** Stops the timer and forgets everything unflushed; `flush` first to keep it. */
  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pending.clear();
    this.#inFlight.clear();
  }

  get size(): number {
    return this.#pending.size;
  }

  #arm(): void {
    if (this.#timer || this.#flushing) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.flush();
    }, this.intervalMs);
    // A pending hint must not keep the process alive.
    this.#timer.unref();
  }

  async #writeBatch(): Promise<void> {
    const batch = this.#pending;
    this.#pending = new Map();
    this.#inFlight = batch;
    for (const [key, use] of batch) {
      if (this.#closed) break;
      // Forgotten (deleted) while the batch was queued.
      if (!this.#inFlight.has(key)) continue;
      try {
        await this.#write(key, use);
      } catch (err) {
        this.#onError(err, key);
      }
    }
    this.#inFlight = new Map();
    // Uses noted during the batch wait a full interval: at most one write
    // per credential per interval.
    if (this.#pending.size > 0 && !this.#closed) {
      this.#flushing = undefined;
      this.#arm();
    }
  }
}

/** The stored and the unflushed use, whichever is later. */
export function latestUse(
  stored: LastUse | undefined,
  unflushed: LastUse | undefined,
): LastUse | undefined {
  if (!stored) return unflushed;
  if (!unflushed) return stored;
  return unflushed.timeMs >= stored.timeMs ? unflushed : stored;
}

/** Vault-style fields for lookups: RFC 3339 time and address, both null before any use. */
export function describeLastUse(use: LastUse | undefined): {
  last_used_time: string | null;
  last_used_addr: string | null;
} {
  return {
    last_used_time: use ? new Date(use.timeMs).toISOString() : null,
    last_used_addr: use ? use.addr : null,
  };
}
