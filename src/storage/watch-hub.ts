import type { WatchEvent } from './types.ts';

interface Watcher {
  prefix: string;
  onEvent: (event: WatchEvent) => void;
  active: boolean;
}

/**
 * In-process watch delivery for single-node backends. Backends publish the
 * events of a commit after it is durable; watchers receive them in the order
 * published, even when a watcher writes to storage from inside its callback
 * (that write's events queue behind the ones being delivered).
 */
export class WatchHub {
  #watchers = new Set<Watcher>();
  #queue: WatchEvent[] = [];
  #delivering = false;

  subscribe(prefix: string, onEvent: (event: WatchEvent) => void): () => void {
    const watcher: Watcher = { prefix, onEvent, active: true };
    this.#watchers.add(watcher);
    return () => {
      watcher.active = false;
      this.#watchers.delete(watcher);
    };
  }

  publish(events: WatchEvent[]): void {
    this.#queue.push(...events);
    if (this.#delivering) return;

    this.#delivering = true;
    try {
      for (let i = 0; i < this.#queue.length; i++) this.#deliver(this.#queue[i]);
    } finally {
      this.#queue = [];
      this.#delivering = false;
    }
  }

  clear(): void {
    for (const watcher of this.#watchers) watcher.active = false;
    this.#watchers.clear();
  }

  #deliver(event: WatchEvent): void {
    for (const watcher of [...this.#watchers]) {
      if (!watcher.active || !event.key.startsWith(watcher.prefix)) continue;
      try {
        watcher.onEvent({ ...event });
      } catch (err) {
        // The write has committed and other watchers still need the event, so
        // the failure cannot go back to the writer; surface it as uncaught.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}
