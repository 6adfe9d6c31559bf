/**
 * Wakes blocking queries. One storage watch on the config store's prefix
 * fans out to every waiting query in this process, so a thousand blocked
 * clients cost one backend watch (on etcd, one gRPC stream) rather than a
 * thousand. Because it watches storage, not this node's own writes, a
 * write that lands through another node of an HA cluster wakes waiters
 * here too.
 */
import type { WatchEvent } from '../storage/types.ts';

/** Subscribes to changes under a storage prefix; returns the unsubscribe function. */
export type WatchSource = (prefix: string, onEvent: (event: WatchEvent) => void) => () => void;

interface Waiter {
  matches: (key: string) => boolean;
  wake: () => void;
}

export class ChangeFeed {
  readonly #waiters = new Set<Waiter>();
  #stop: (() => void) | undefined;

  /** `prefix` is cut from every key before a waiter sees it. */
  constructor(source: WatchSource, prefix: string) {
    this.#stop = source(prefix, (event) => this.#deliver(event.key.slice(prefix.length)));
  }

  /**
   * Registers interest before the caller reads, so no change between the
   * read and the wait is missed. `changed` resolves on the first matching
   * change, on `cancel`, or when the feed closes.
   */
  subscribe(matches: (key: string) => boolean): { changed: Promise<void>; cancel: () => void } {
    let waiter!: Waiter;
    const changed = new Promise<void>((resolve) => {
      waiter = { matches, wake: resolve };
    });
    if (this.#stop === undefined) waiter.wake();
    else this.#waiters.add(waiter);
    return {
      changed,
      cancel: () => {
        this.#waiters.delete(waiter);
        waiter.wake();
      },
    };
  }

  /** Wakes every waiter, whatever it waits for (a restore replaced the data). */
  wakeAll(): void {
    for (const waiter of this.#waiters) waiter.wake();
    this.#waiters.clear();
  }

  /** True once closed: waits end at once, so callers must stop waiting. */
  get closed(): boolean {
    return this.#stop === undefined;
  }

  get waiting(): number {
    return this.#waiters.size;
  }

  /** Stops the watch and releases every waiter, so shutdown never waits on a blocked query. */
  close(): void {
    this.#stop?.();
    this.#stop = undefined;
    this.wakeAll();
  }

  #deliver(key: string): void {
    for (const waiter of this.#waiters) {
      if (!waiter.matches(key)) continue;
      this.#waiters.delete(waiter);
      waiter.wake();
    }
  }
}
