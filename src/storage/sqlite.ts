import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { assertKey, assertPrefix, assertValue, childName, folderEnd } from './keys.ts';
import type { Storage, TxnOp, WatchEvent } from './types.ts';
import { WatchHub } from './watch-hub.ts';

type Change = Omit<WatchEvent, 'revision'>;

// TEXT compares with the BINARY collation, i.e. memcmp of UTF-8: the key order of
// `compareKeys`. WITHOUT ROWID keeps rows in key order, so a list is a range scan.
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY COLLATE BINARY, value BLOB NOT NULL)
    WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
  INSERT OR IGNORE INTO meta (name, value) VALUES ('revision', 0);
`;

/**
 * Storage in one SQLite file, for a single node: the embedded default.
 * The revision lives in the `meta` table and is bumped inside each writing
 * transaction, so it keeps increasing across restarts.
 */
export class SqliteStorage implements Storage {
  readonly type = 'sqlite';
  #db: Database.Database;
  #hub = new WatchHub();
  #select: Database.Statement<[string], Buffer>;
  #upsert: Database.Statement<[string, Buffer]>;
  #remove: Database.Statement<[string]>;
  #keysFrom: Database.Statement<[string], string>;
  #keysBetween: Database.Statement<[string, string], string>;
  #readRevision: Database.Statement<[], number>;
  #bumpRevision: Database.Statement<[], number>;
  #apply: (ops: TxnOp[]) => { revision: number; changes: Change[] };

  /**
   * Opens (or creates) the database file. A new parent directory gets mode
   * 0700 and a new file 0600; SQLite gives its -wal and -shm files the mode of
   * the database file.
   */
  static open(path: string): SqliteStorage {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    closeSync(openSync(path, 'a', 0o600));
    return new SqliteStorage(new Database(path));
  }

  private constructor(db: Database.Database) {
    this.#db = db;
    db.pragma('journal_mode = WAL');
    // FULL, not NORMAL: in WAL mode NORMAL can lose the last commits on a power
    // cut, and an acknowledged write here may be a new keyring or an issued
    // token. Writes are rare next to reads, so one fsync per commit is affordable.
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 5000');
    db.exec(SCHEMA);

    this.#select = db.prepare<[string], Buffer>('SELECT value FROM kv WHERE key = ?').pluck();
    this.#upsert = db.prepare('INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)');
    this.#remove = db.prepare('DELETE FROM kv WHERE key = ?');
    this.#keysFrom = db
      .prepare<[string], string>('SELECT key FROM kv WHERE key >= ? ORDER BY key')
      .pluck();
    this.#keysBetween = db
      .prepare<[string, string], string>(
        'SELECT key FROM kv WHERE key >= ? AND key < ? ORDER BY key',
      )
      .pluck();
    this.#readRevision = db
      .prepare<[], number>("SELECT value FROM meta WHERE name = 'revision'")
      .pluck();
    this.#bumpRevision = db
      .prepare<[], number>(
        "UPDATE meta SET value = value + 1 WHERE name = 'revision' RETURNING value",
      )
      .pluck();
    this.#apply = db.transaction((ops: TxnOp[]) => this.#applyOps(ops));
  }

  async get(key: string): Promise<Buffer | undefined> {
    assertKey(key);
    return this.#select.get(key);
  }

  async put(key: string, value: Buffer): Promise<number> {
    return this.transaction([{ op: 'put', key, value }]);
  }

  async delete(key: string): Promise<number> {
    return this.transaction([{ op: 'delete', key }]);
  }

  /**
   * Walks the keys under `prefix` in order; on meeting a sub-folder it records
   * the folder and seeks past everything in it, so the cost follows the number
   * of names listed, not the number of keys beneath them.
   */
  async list(prefix: string): Promise<string[]> {
    assertPrefix(prefix);
    const names: string[] = [];
    let from: string | undefined = prefix;
    while (from !== undefined) {
      const keys = this.#keysUnder(prefix, from);
      from = undefined;
      for (const key of keys) {
        const name = childName(prefix, key);
        names.push(name);
        if (name.endsWith('/')) {
          from = folderEnd(prefix + name);
          break; // Leaving the loop early ends the statement's iteration.
        }
      }
    }
    return names;
  }

  /** Keys from `from` on, up to the end of `prefix`'s folder (the root has no end). */
  #keysUnder(prefix: string, from: string): IterableIterator<string> {
    if (prefix === '') return this.#keysFrom.iterate(from);
    return this.#keysBetween.iterate(from, folderEnd(prefix));
  }

  async transaction(ops: TxnOp[]): Promise<number> {
    const { revision, changes } = this.#apply(ops);
    this.#hub.publish(changes.map((change) => ({ ...change, revision })));
    return revision;
  }

  async revision(): Promise<number> {
    return this.#readRevision.get()!;
  }

  watch(prefix: string, onEvent: (event: WatchEvent) => void): () => void {
    return this.#hub.subscribe(prefix, onEvent);
  }

  async close(): Promise<void> {
    this.#hub.clear();
    this.#db.close();
  }

  /** Runs inside `db.transaction`: a throw from any op rolls back all of them. */
  #applyOps(ops: TxnOp[]): { revision: number; changes: Change[] } {
    const changes: Change[] = [];
    for (const op of ops) {
      assertKey(op.key);
      if (op.op === 'put') {
        assertValue(op.value);
        this.#upsert.run(op.key, op.value);
        changes.push({ type: 'put', key: op.key });
      } else if (op.op === 'delete') {
        if (this.#remove.run(op.key).changes > 0) changes.push({ type: 'delete', key: op.key });
      } else {
        throw new Error('storage op must be put or delete');
      }
    }
    // Like etcd, a transaction that changed nothing leaves the revision alone.
    const revision = changes.length > 0 ? this.#bumpRevision.get()! : this.#readRevision.get()!;
    return { revision, changes };
  }
}
