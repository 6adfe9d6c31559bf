/**
 * A view of a storage under a fixed prefix, so each mount and each part of
 * the core sees only its own keys. Keys given to the view are relative.
 */
import type { HALock, Storage, TxnOp, WatchEvent } from '../storage/types.ts';

export class StorageView implements Storage {
  readonly type: string;
  readonly haLock?: HALock;
  private readonly inner: Storage;
  private readonly prefix: string;

  constructor(inner: Storage, prefix: string) {
    if (prefix !== '' && !prefix.endsWith('/')) throw new Error('view prefix must end with "/"');
    this.inner = inner;
    this.prefix = prefix;
    this.type = inner.type;
  }

  get(key: string): Promise<Buffer | undefined> {
    return this.inner.get(this.prefix + key);
  }

  put(key: string, value: Buffer): Promise<number> {
    return this.inner.put(this.prefix + key, value);
  }

  delete(key: string): Promise<number> {
    return this.inner.delete(this.prefix + key);
  }

  list(prefix: string): Promise<string[]> {
    return this.inner.list(this.prefix + prefix);
  }

  transaction(ops: TxnOp[]): Promise<number> {
    return this.inner.transaction(ops.map((op) => ({ ...op, key: this.prefix + op.key })));
  }

  revision(): Promise<number> {
    return this.inner.revision();
  }

  watch(prefix: string, onEvent: (event: WatchEvent) => void): () => void {
    const cut = this.prefix.length;
    return this.inner.watch(this.prefix + prefix, (event) =>
      onEvent({ ...event, key: event.key.slice(cut) }),
    );
  }

  /** Deletes every key of the view, e.g. when a mount is disabled. */
  async clear(): Promise<void> {
    const keys = await collectKeys(this, '');
    for (let i = 0; i < keys.length; i += 500) {
      await this.transaction(keys.slice(i, i + 500).map((key) => ({ op: 'delete', key })));
    }
  }

  /** Views never own the storage; closing is the owner's job. */
  async close(): Promise<void> {}
}

/** Every key under `prefix`, depth first. */
export async function collectKeys(storage: Storage, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for (const name of await storage.list(prefix)) {
    if (name.endsWith('/')) out.push(...(await collectKeys(storage, prefix + name)));
    else out.push(prefix + name);
  }
  return out;
}
