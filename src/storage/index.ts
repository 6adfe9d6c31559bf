import { join } from 'node:path';
import { EtcdStorage } from './etcd.ts';
import { MemoryStorage } from './memory.ts';
import { PostgresStorage } from './postgresql.ts';
import { SqliteStorage } from './sqlite.ts';
import type { Storage } from './types.ts';

export type { HALock, HeldLock, Storage, TxnOp, WatchEvent } from './types.ts';

const KINDS = ['inmem', 'memory', 'sqlite', 'etcd', 'postgresql'];

/**
 * Opens the backend a `storage "<kind>" { ... }` config block names.
 * `sqlite` takes `path`: a directory that will hold `keep.db`, or a file ending in `.db`.
 * `etcd` and `postgresql` take Vault's options (etcd.ts, postgresql.ts) and are
 * reached once here, so a wrong address or URL fails the start-up, naming it.
 */
export async function openStorage(
  kind: string,
  options: Record<string, unknown>,
): Promise<Storage> {
  switch (kind) {
    case 'inmem':
    case 'memory':
      return new MemoryStorage();
    case 'sqlite':
      return SqliteStorage.open(sqliteFile(options.path));
    case 'etcd':
      return reached(new EtcdStorage(options), 'etcd', String(options.address ?? ''));
    case 'postgresql':
      return reached(new PostgresStorage(options), 'postgresql', '');
    default:
      throw new Error(`unknown storage type "${kind}"; supported: ${KINDS.join(', ')}`);
  }
}

function sqliteFile(path: unknown): string {
  if (typeof path !== 'string' || path === '') {
    throw new Error('storage "sqlite" needs a "path" option (a directory or a .db file)');
  }
  return path.endsWith('.db') ? path : join(path, 'keep.db');
}

async function reached<T extends Storage & { ping(): Promise<void> }>(
  storage: T,
  kind: string,
  where: string,
): Promise<T> {
  try {
    await storage.ping();
    return storage;
  } catch (err) {
    await storage.close().catch(() => {});
    const at = where ? ` at ${where}` : '';
    throw new Error(`storage "${kind}"${at} could not be reached: ${(err as Error).message}`);
  }
}
