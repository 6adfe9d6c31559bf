import { assertKey, assertPrefix, assertValue, childName, compareKeys } from './keys.ts';
import type { Storage, TxnOp, WatchEvent } from './types.ts';
import { WatchHub } from './watch-hub.ts';

/**
 * Storage in process memory, for `keep server -dev` and tests. Nothing
 * survives the process.
 *
 * Besides the values, it keeps a per-folder index of child names, each with
 * the number of keys it stands for, so a one-level list reads only that
 * folder's entries however many keys exist elsewhere.
 */
export class MemoryStorage implements Storage {
  readonly type = 'inmem';
  #values = new Map<string, Buffer>();
  /** Folder prefix → child name (`x` or `x/`) → keys at or under that name. */
  #children = new Map<string, Map<string, number>>();
  #revision = 0;
  #hub = new WatchHub();

  async get(key: string): Promise<Buffer | undefined> {
    assertKey(key);
    const value = this.#values.get(key);
    return value && Buffer.from(value);
  }

  async put(key: string, value: Buffer): Promise<number> {
    return this.transaction([{ op: 'put', key, value }]);
  }

  async delete(key: string): Promise<number> {
    return this.transaction([{ op: 'delete', key }]);
  }

  async list(prefix: string): Promise<string[]> {
    assertPrefix(prefix);
    const names = this.#children.get(prefix);
    return names ? [...names.keys()].sort(compareKeys) : [];
  }

  async transaction(ops: TxnOp[]): Promise<number> {
    // Validate everything first: nothing below can throw, so no op applies alone.
    for (const op of ops) validateOp(op);

    const changes: Omit<WatchEvent, 'revision'>[] = [];
    for (const op of ops) {
      if (op.op === 'put') {
        if (!this.#values.has(op.key)) this.#index(op.key, 1);
        this.#values.set(op.key, Buffer.from(op.value));
        changes.push({ type: 'put', key: op.key });
      } else if (this.#values.delete(op.key)) {
        this.#index(op.key, -1);
        changes.push({ type: 'delete', key: op.key });
      }
    }
    if (changes.length === 0) return this.#revision;

    const revision = ++this.#revision;
    this.#hub.publish(changes.map((change) => ({ ...change, revision })));
    return revision;
  }

  async revision(): Promise<number> {
    return this.#revision;
  }

  watch(prefix: string, onEvent: (event: WatchEvent) => void): () => void {
    return this.#hub.subscribe(prefix, onEvent);
  }

  async close(): Promise<void> {
    this.#hub.clear();
  }

  /** Adds (delta 1) or removes (delta -1) `key` in the name index of every folder above it. */
  #index(key: string, delta: number): void {
    for (let start = 0; start >= 0; ) {
      const folder = key.slice(0, start);
      const name = childName(folder, key);
      const names = this.#children.get(folder) ?? new Map<string, number>();
      this.#children.set(folder, names);

      const count = (names.get(name) ?? 0) + delta;
      if (count > 0) names.set(name, count);
      else names.delete(name);
      if (names.size === 0) this.#children.delete(folder);

      start = name.endsWith('/') ? start + name.length : -1;
    }
  }
}

function validateOp(op: TxnOp): void {
  if (op.op !== 'put' && op.op !== 'delete') throw new Error('storage op must be put or delete');
  assertKey(op.key);
  if (op.op === 'put') assertValue(op.value);
}
