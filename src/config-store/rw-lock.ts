/**
 * A readers-writer lock for async sections. Reads of many keys (a recurse,
 * a transaction's checks) hold it shared so a commit cannot land half way
 * through them; a write holds it alone from its first read to its commit,
 * which is what makes check-and-set atomic on one node.
 *
 * Waiting writers go first: a stream of readers cannot starve a write.
 */
export class RwLock {
  #readers = 0;
  #writing = false;
  #queue: { write: boolean; wake: () => void }[] = [];

  async read<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#writing || this.#queue.length > 0) {
      await new Promise<void>((wake) => this.#queue.push({ write: false, wake }));
    } else {
      this.#readers++;
    }
    try {
      return await fn();
    } finally {
      this.#readers--;
      this.#next();
    }
  }

  async write<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#writing || this.#readers > 0 || this.#queue.length > 0) {
      await new Promise<void>((wake) => this.#queue.push({ write: true, wake }));
    } else {
      this.#writing = true;
    }
    try {
      return await fn();
    } finally {
      this.#writing = false;
      this.#next();
    }
  }

  /** Admits the next writer alone, or every reader up to the next writer. */
  #next(): void {
    if (this.#writing || this.#readers > 0) return;
    const first = this.#queue[0];
    if (!first) return;
    if (first.write) {
      this.#queue.shift();
      this.#writing = true;
      first.wake();
      return;
    }
    while (this.#queue[0] && !this.#queue[0].write) {
      this.#readers++;
      this.#queue.shift()!.wake();
    }
  }
}
