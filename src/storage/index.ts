import { join } from 'node:path';
import { MemoryStorage } from './memory.ts';
import { SqliteStorage } from './sqlite.ts';
import type { Storage } from './types.ts';

export type { HALock, HeldLock, Storage, TxnOp, WatchEvent } from './types.ts';

const KINDS = ['inmem', 'memory', 'sqlite'];

/**
 * Opens the backend a `storage "<kind>" { ... }` config block names.
 * `sqlite` takes `path`: a directory that will hold `keep.db`, or a file ending in `.db`.
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
