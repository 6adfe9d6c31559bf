/**
 * Raw SQLite ceilings, straight from better-sqlite3 in this process with no
 * Keep code: point reads of the rows a KV v2 read touches, and durable
 * commits of the rows a KV v2 write touches, with the pragmas Keep uses.
 */
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';

/**
 * KV v2 reads per second as raw storage work: two point selects (the
 * `meta/` record and the `ver/` data) of random secrets of a Keep data file.
 */
export function rawKvReads(
  dbFile: string,
  mountUuid: string,
  prefix: string,
  count: number,
  seconds: number,
): number {
  const db = new Database(dbFile, { readonly: true });
  try {
    const select = db.prepare<[string], Buffer>('SELECT value FROM kv WHERE key = ?').pluck();
    const base = `logical/${mountUuid}/`;
    let n = 0;
    const started = performance.now();
    const until = started + seconds * 1000;
    while (performance.now() < until) {
      for (let k = 0; k < 100; k++) {
        const i = Math.floor(Math.random() * count);
        const a = select.get(`${base}meta/${prefix}${i}`);
        const b = select.get(`${base}ver/${prefix}${i}/1`);
        if (!a || !b) throw new Error(`raw read found no row for ${prefix}${i}`);
        n++;
      }
    }
    return n / ((performance.now() - started) / 1000);
  } finally {
    db.close();
  }
}

/**
 * Durable KV v2 writes per second as raw storage work: one transaction per
 * write that upserts a metadata row and a version row, prunes the version
 * ten writes back and bumps a revision,
 * in WAL mode with `synchronous = FULL` (an fsync of the WAL per commit),
 * the settings src/storage/sqlite.ts uses.
 */
export function rawDurableWrites(dbFile: string, seconds: number): number {
  const db = new Database(dbFile);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec(`
      CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY COLLATE BINARY, value BLOB NOT NULL)
        WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
      INSERT OR IGNORE INTO meta (name, value) VALUES ('revision', 0);
    `);
    const upsert = db.prepare('INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)');
    const remove = db.prepare('DELETE FROM kv WHERE key = ?');
    const bump = db.prepare("UPDATE meta SET value = value + 1 WHERE name = 'revision'");
    const meta = randomBytes(420);
    const data = randomBytes(110);
    const write = db.transaction((i: number) => {
      upsert.run(`logical/x/meta/bench/w${i % 1000}`, meta);
      upsert.run(`logical/x/ver/bench/w${i % 1000}/${i}`, data);
      // Keep prunes beyond 10 versions; the same key comes round every 1000 writes.
      if (i >= 10_000) remove.run(`logical/x/ver/bench/w${i % 1000}/${i - 10_000}`);
      bump.run();
    });
    let n = 0;
    const started = performance.now();
    const until = started + seconds * 1000;
    while (performance.now() < until) write(n++);
    return n / ((performance.now() - started) / 1000);
  } finally {
    db.close();
  }
}
