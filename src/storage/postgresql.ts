import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { assertKey, assertPrefix, assertValue, childName, folderEnd } from './keys.ts';
import { isTrue, LockLostError, lockTtlMs, sleep } from './lock-util.ts';
import type { HALock, HeldLock, Storage, TxnOp, WatchEvent } from './types.ts';

/** Options of `storage "postgresql" { ... }`, in Vault's names. */
export interface PostgresOptions {
  /** `postgres://user:pass@host:5432/db?sslmode=require`; else the libpq `PG*` variables. */
  connection_url?: string;
  /** The key/value table (`keep_kv_store`); `<table>_meta` and `<table>_log` go beside it. */
  table?: string;
  ha_enabled?: boolean | string;
  /** The HA lock table (`keep_ha_locks`). */
  ha_table?: string;
  /** Most connections this node opens (Vault's `max_parallel`); 10 unless set. */
  max_parallel?: number | string;
  /** TTL of the HA lock row (`"15s"`); Vault's is a fixed 15 s. */
  lock_timeout?: string | number;
}

/** How many revisions of change log are kept for watchers that fell behind. */
const LOG_KEEP = 10_000;
/** Watchers also poll, in case a notification was lost with its connection. */
const WATCH_POLL_MS = 1000;
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,50}(\.[A-Za-z_][A-Za-z0-9_]{0,50})?$/;

type Change = { type: 'put' | 'delete'; key: string };
interface Watcher {
  prefix: string;
  onEvent: (event: WatchEvent) => void;
  from: number;
}

/**
 * Storage in PostgreSQL through `pg`. Keys are `TEXT COLLATE "C"` (byte order, as
 * every backend lists), values `BYTEA`.
 *
 * Revisions come from one counter row (`<table>_meta`), locked `FOR UPDATE` first
 * in every writing transaction: writers are serialised, so revision order is
 * commit order and watchers never see a later revision before an earlier one (a
 * sequence would hand out numbers in call order, not commit order). Each commit
 * also appends its changes to `<table>_log` and `NOTIFY`s the revision; watchers
 * `LISTEN`, read the log past what they delivered, and poll once a second in case
 * a notification was lost with a dropped connection.
 *
 * With the HA lock held, every write first checks, in the same transaction, that
 * the lock row still names this holder and has not lapsed by the database's
 * clock (`FOR SHARE`, so a takeover waits for the write to commit): a deposed
 * holder's writes fail instead of landing.
 */
export class PostgresStorage implements Storage {
  readonly type = 'postgresql';
  readonly haLock?: HALock;
  readonly #pool: pg.Pool;
  readonly #url: string | undefined;
  readonly #t: {
    kv: string;
    meta: string;
    log: string;
    ha: string;
    channel: string;
  };
  #ready: Promise<void> | undefined;
  #seen = 0;
  #watchers = new Set<Watcher>();
  #delivered = 0;
  #listener: pg.Client | undefined;
  #listening: Promise<void> | undefined;
  #pollTimer: NodeJS.Timeout | undefined;
  #pumping: Promise<void> | undefined;
  #pumpAgain = false;
  #fence: { identity: string; onLost: (err: Error) => void } | undefined;
  #closed = false;

  constructor(options: PostgresOptions = {}) {
    const table = options.table ?? 'keep_kv_store';
    const haTable = options.ha_table ?? 'keep_ha_locks';
    for (const [name, value] of [
      ['table', table],
      ['ha_table', haTable],
    ]) {
      if (!IDENTIFIER.test(value!)) {
        throw new Error(`storage "postgresql": invalid ${name} ${JSON.stringify(value)}`);
      }
    }
    const quote = (name: string) =>
      name
        .split('.')
        .map((part) => `"${part}"`)
        .join('.');
    this.#t = {
      kv: quote(table),
      meta: quote(`${table}_meta`),
      log: quote(`${table}_log`),
      ha: quote(haTable),
      channel: `keep_${table.replace('.', '_')}`.toLowerCase(),
    };
    this.#url = options.connection_url;
    const max = Number(options.max_parallel ?? 10);
    if (!Number.isInteger(max) || max < 1) {
      throw new Error('storage "postgresql": "max_parallel" must be a positive whole number');
    }
    this.#pool = new pg.Pool({
      connectionString: this.#url,
      max,
      connectionTimeoutMillis: 5000,
      idleTimeoutMillis: 30_000,
    });
    // An idle connection dropped by a server restart must not crash the process.
    this.#pool.on('error', () => {});
    if (isTrue(options.ha_enabled)) {
      this.haLock = new PostgresLock(this, lockTtlMs(options.lock_timeout));
    }
  }

  /** Creates the tables on first start; `openStorage` calls it so a bad URL fails at start-up. */
  ping(): Promise<void> {
    this.#ready ??= this.#createSchema().catch((err) => {
      this.#ready = undefined;
      throw err;
    });
    return this.#ready;
  }

  async #createSchema(): Promise<void> {
    const { kv, meta, log, ha } = this.#t;
    await this.#inTransaction(async (c) => {
      // Two nodes starting at once would race on CREATE TABLE IF NOT EXISTS.
      await c.query(`SELECT pg_advisory_xact_lock(hashtext('keep-schema'))`);
      await c.query(`
        CREATE TABLE IF NOT EXISTS ${kv} (
          key TEXT COLLATE "C" PRIMARY KEY,
          value BYTEA NOT NULL
        );
        CREATE TABLE IF NOT EXISTS ${meta} (id INT PRIMARY KEY, revision BIGINT NOT NULL);
        INSERT INTO ${meta} (id, revision) VALUES (1, 0) ON CONFLICT DO NOTHING;
        CREATE TABLE IF NOT EXISTS ${log} (
          revision BIGINT NOT NULL,
          seq INT NOT NULL,
          type CHAR(1) NOT NULL,
          key TEXT COLLATE "C" NOT NULL,
          PRIMARY KEY (revision, seq)
        );
        CREATE TABLE IF NOT EXISTS ${ha} (
          ha_key TEXT COLLATE "C" PRIMARY KEY,
          ha_identity TEXT NOT NULL,
          ha_value TEXT,
          valid_until TIMESTAMPTZ NOT NULL
        );
      `);
    });
  }

  async get(key: string): Promise<Buffer | undefined> {
    assertKey(key);
    await this.ping();
    const res = await this.#pool.query<{ value: Buffer }>(
      `SELECT value FROM ${this.#t.kv} WHERE key = $1`,
      [key],
    );
    return res.rows[0]?.value;
  }

  async put(key: string, value: Buffer): Promise<number> {
    return this.transaction([{ op: 'put', key, value }]);
  }

  async delete(key: string): Promise<number> {
    return this.transaction([{ op: 'delete', key }]);
  }

  /**
   * One query: a recursive walk that seeks from each name to the next (past a
   * whole sub-folder at once), so the cost follows the names listed, not the
   * keys beneath them. Keys hold no NUL, so `k || chr(1)` is the first key after `k`.
   */
  async list(prefix: string): Promise<string[]> {
    assertPrefix(prefix);
    await this.ping();
    const kv = this.#t.kv;
    const upper = prefix === '' ? '' : `AND key < ($2 COLLATE "C")`;
    const params: unknown[] = [prefix];
    if (prefix !== '') params.push(folderEnd(prefix));
    // Positions count characters, as PostgreSQL's substr and strpos do.
    params.push([...prefix].length);
    const n = `$${params.length}::int`;
    const rest = `substr(w.k, ${n} + 1)`;
    const res = await this.#pool.query<{ k: string }>(
      `WITH RECURSIVE walk(k) AS (
         (SELECT key FROM ${kv} WHERE key >= ($1 COLLATE "C") ${upper} ORDER BY key LIMIT 1)
         UNION ALL
         SELECT (SELECT key FROM ${kv}
                   WHERE key >= (CASE WHEN strpos(${rest}, '/') > 0
                                   THEN substr(w.k, 1, ${n} + strpos(${rest}, '/') - 1) || '0'
                                   ELSE w.k || chr(1) END) COLLATE "C"
                     ${upper}
                   ORDER BY key LIMIT 1)
           FROM walk w WHERE w.k IS NOT NULL
       )
       SELECT k FROM walk WHERE k IS NOT NULL`,
      params,
    );
    return res.rows.map((row) => childName(prefix, row.k));
  }

  async transaction(ops: TxnOp[]): Promise<number> {
    for (const op of ops) validateOp(op);
    await this.ping();
    if (this.#listening) await this.#listening.catch(() => {});
    const { kv, meta, log, ha, channel } = this.#t;
    const fence = this.#fence;
    const revision = await this.#inTransaction(async (c) => {
      if (fence) {
        const held = await c.query(
          `SELECT 1 FROM ${ha} WHERE ha_key = 'leader' AND ha_identity = $1
             AND valid_until > clock_timestamp() FOR SHARE`,
          [fence.identity],
        );
        if (held.rowCount === 0) {
          const err = new LockLostError();
          fence.onLost(err);
          throw err;
        }
      }
      // The counter row first: writers queue here, so revisions follow commit order.
      const current = await c.query<{ revision: string }>(
        `SELECT revision FROM ${meta} WHERE id = 1 FOR UPDATE`,
      );
      let rev = Number(current.rows[0]!.revision);
      const changes: Change[] = [];
      for (const op of ops) {
        if (op.op === 'put') {
          await c.query(
            `INSERT INTO ${kv} (key, value) VALUES ($1, $2)
               ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
            [op.key, op.value],
          );
          changes.push({ type: 'put', key: op.key });
        } else {
          const res = await c.query(`DELETE FROM ${kv} WHERE key = $1`, [op.key]);
          if ((res.rowCount ?? 0) > 0) changes.push({ type: 'delete', key: op.key });
        }
      }
      if (changes.length === 0) return rev;
      rev += 1;
      await c.query(`UPDATE ${meta} SET revision = $1 WHERE id = 1`, [rev]);
      await c.query(
        `INSERT INTO ${log} (revision, seq, type, key)
           SELECT $1, s, t, k FROM unnest($2::int[], $3::char[], $4::text[]) AS u(s, t, k)`,
        [
          rev,
          changes.map((_, i) => i),
          changes.map((ch) => (ch.type === 'put' ? 'p' : 'd')),
          changes.map((ch) => ch.key),
        ],
      );
      if (rev % 100 === 0) {
        await c.query(`DELETE FROM ${log} WHERE revision < $1`, [rev - LOG_KEEP]);
      }
      await c.query('SELECT pg_notify($1, $2)', [channel, String(rev)]);
      return rev;
    });
    if (revision > this.#seen) this.#seen = revision;
    return revision;
  }

  async revision(): Promise<number> {
    await this.ping();
    const res = await this.#pool.query<{ revision: string }>(
      `SELECT revision FROM ${this.#t.meta} WHERE id = 1`,
    );
    return Number(res.rows[0]!.revision);
  }

  watch(prefix: string, onEvent: (event: WatchEvent) => void): () => void {
    const watcher: Watcher = { prefix, onEvent, from: Math.max(this.#delivered, this.#seen) };
    this.#watchers.add(watcher);
    if (!this.#listening) {
      this.#listening = this.#startListening();
      this.#listening.catch(() => {});
    }
    return () => {
      this.#watchers.delete(watcher);
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#watchers.clear();
    clearInterval(this.#pollTimer);
    await this.#listener?.end().catch(() => {});
    await this.#pumping?.catch(() => {});
    await this.#pool.end().catch(() => {});
  }

  // ---- watch delivery -----------------------------------------------------------------------

  async #startListening(): Promise<void> {
    await this.ping();
    await this.#connectListener();
    const start = Math.max(await this.revision(), this.#seen);
    this.#delivered = start;
    for (const w of this.#watchers) w.from = Math.max(w.from, start);
    this.#pollTimer = setInterval(() => this.#pump(), WATCH_POLL_MS);
    this.#pollTimer.unref();
  }

  async #connectListener(): Promise<void> {
    if (this.#closed) return;
    const client = new pg.Client({ connectionString: this.#url });
    client.on('error', () => {});
    client.on('notification', () => this.#pump());
    client.on('end', () => {
      if (this.#listener === client) this.#listener = undefined;
      if (!this.#closed) {
        // Reconnect in the background; polling covers the gap.
        setTimeout(() => void this.#connectListener().catch(() => {}), 1000).unref();
      }
    });
    await client.connect();
    await client.query(`LISTEN "${this.#t.channel}"`);
    this.#listener = client;
  }

  /** Delivers logged changes past `#delivered`, one pump at a time. */
  #pump(): void {
    if (this.#closed) return;
    if (this.#pumping) {
      this.#pumpAgain = true;
      return;
    }
    this.#pumping = (async () => {
      do {
        this.#pumpAgain = false;
        await this.#deliverNew().catch(() => {});
      } while (this.#pumpAgain && !this.#closed);
    })().finally(() => {
      this.#pumping = undefined;
    });
  }

  async #deliverNew(): Promise<void> {
    for (;;) {
      const res = await this.#pool.query<{ revision: string; type: string; key: string }>(
        `SELECT revision, type, key FROM ${this.#t.log}
           WHERE revision > $1 ORDER BY revision, seq LIMIT 1000`,
        [this.#delivered],
      );
      for (const row of res.rows) {
        const event: WatchEvent = {
          type: row.type === 'd' ? 'delete' : 'put',
          key: row.key,
          revision: Number(row.revision),
        };
        for (const w of [...this.#watchers]) {
          if (event.revision <= w.from || !event.key.startsWith(w.prefix)) continue;
          if (!this.#watchers.has(w)) continue;
          try {
            w.onEvent({ ...event });
          } catch (err) {
            queueMicrotask(() => {
              throw err;
            });
          }
        }
        this.#delivered = event.revision;
      }
      if (res.rows.length < 1000) return;
    }
  }

  // ---- for the HA lock ----------------------------------------------------------------------

  /** @internal */
  get tables(): { ha: string } {
    return { ha: this.#t.ha };
  }

  /** @internal */
  query<R extends pg.QueryResultRow>(text: string, params: unknown[]): Promise<pg.QueryResult<R>> {
    return this.ping().then(() => this.#pool.query<R>(text, params));
  }

  /** @internal */
  setFence(fence: { identity: string; onLost: (err: Error) => void } | undefined): void {
    this.#fence = fence;
  }

  async #inTransaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
    let broken = false;
    // A connection that breaks while checked out emits 'error' on the client;
    // unheard, that would end the process. The failed query reports it instead.
    const onError = () => {
      broken = true;
    };
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw err;
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }
}

/**
 * The HA lock as a lease row in `ha_table`: taken with an upsert that succeeds
 * only when the row is absent or lapsed by the database's clock, renewed every
 * third of the TTL. Chosen over a session advisory lock because an advisory lock
 * lives as long as its connection: a frozen node (SIGSTOP, a long GC pause, a
 * hung VM) keeps its TCP connection open, the kernel answers keepalives, and the
 * lock would never pass on. A lease row lapses on time, and the fence check in
 * each write makes the lapsed holder's writes fail.
 */
class PostgresLock implements HALock {
  readonly #storage: PostgresStorage;
  readonly #ttlMs: number;

  constructor(storage: PostgresStorage, ttlMs: number) {
    this.#storage = storage;
    this.#ttlMs = ttlMs;
  }

  async holder(): Promise<string | undefined> {
    const res = await this.#storage.query<{ ha_value: string }>(
      `SELECT ha_value FROM ${this.#storage.tables.ha}
         WHERE ha_key = 'leader' AND valid_until > clock_timestamp()`,
      [],
    );
    return res.rows[0]?.ha_value;
  }

  async acquire(holderId: string, opts: { ttlMs?: number; signal?: AbortSignal }) {
    const ttlMs = opts.ttlMs ?? this.#ttlMs;
    const identity = randomUUID();
    const retryMs = Math.min(500, Math.floor(ttlMs / 4));
    for (;;) {
      opts.signal?.throwIfAborted();
      try {
        const res = await this.#storage.query(
          `INSERT INTO ${this.#storage.tables.ha} AS h (ha_key, ha_identity, ha_value, valid_until)
             VALUES ('leader', $1, $2, clock_timestamp() + $3 * interval '1 millisecond')
           ON CONFLICT (ha_key) DO UPDATE
             SET ha_identity = EXCLUDED.ha_identity, ha_value = EXCLUDED.ha_value,
                 valid_until = EXCLUDED.valid_until
             WHERE h.valid_until < clock_timestamp()
           RETURNING ha_identity`,
          [identity, holderId, ttlMs],
        );
        if (res.rowCount === 1) return this.#held(identity, ttlMs);
      } catch {
        // The database is unreachable: look again shortly.
      }
      await sleep(retryMs, opts.signal);
    }
  }

  #held(identity: string, ttlMs: number): HeldLock {
    const storage = this.#storage;
    const ha = storage.tables.ha;
    const lost = new AbortController();
    let lastRenewed = Date.now();
    let released = false;
    const lose = (err: Error) => {
      if (lost.signal.aborted) return;
      // The fence stays until `release`: a deposed holder's writes keep failing.
      clearInterval(timer);
      lost.abort(err);
    };
    storage.setFence({ identity, onLost: lose });
    const timer = setInterval(
      () => {
        if (Date.now() - lastRenewed > ttlMs - 250) {
          lose(new LockLostError('the HA lock could not be renewed in time'));
          return;
        }
        const sent = Date.now();
        storage
          .query(
            `UPDATE ${ha} SET valid_until = clock_timestamp() + $2 * interval '1 millisecond'
               WHERE ha_key = 'leader' AND ha_identity = $1 AND valid_until > clock_timestamp()`,
            [identity, ttlMs],
          )
          .then((res) => {
            if (res.rowCount === 0) lose(new LockLostError('the HA lock was taken over'));
            else lastRenewed = Math.max(lastRenewed, sent);
          })
          .catch(() => {});
      },
      Math.max(200, Math.floor(ttlMs / 3)),
    );
    timer.unref();
    return {
      lost: lost.signal,
      release: async () => {
        if (released) return;
        released = true;
        clearInterval(timer);
        storage.setFence(undefined);
        await storage
          .query(`DELETE FROM ${ha} WHERE ha_key = 'leader' AND ha_identity = $1`, [identity])
          .catch(() => {});
        if (!lost.signal.aborted) lost.abort(new LockLostError('the HA lock was released'));
      },
    };
  }
}

function validateOp(op: TxnOp): void {
  if (op.op !== 'put' && op.op !== 'delete') throw new Error('storage op must be put or delete');
  assertKey(op.key);
  if (op.op === 'put') assertValue(op.value);
}
