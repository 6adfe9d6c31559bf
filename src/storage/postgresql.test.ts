import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { requirePackage } from '../../test/helpers/keep-server.ts';
import { type PostgresServer, postgresBinDir, startPostgres } from '../../test/helpers/services.ts';
import { runListScaleTest, runStorageConformance } from './conformance.ts';
import { runHALockTests } from './ha-lock-conformance.ts';
import { PostgresStorage } from './postgresql.ts';
import type { WatchEvent } from './types.ts';

const skip = requirePackage(postgresBinDir() !== undefined, 'postgresql');
const fresh = () => `t_${randomBytes(6).toString('hex')}`;

describe('postgresql', { skip }, () => {
  let server: PostgresServer;
  before(async () => {
    server = await startPostgres();
  });
  after(async () => {
    await server?.stop();
  });

  // Each test gets its own tables in the one database: a fresh, empty store.
  const open = async () => {
    const storage = new PostgresStorage({ connection_url: server.url, table: fresh() });
    await storage.ping();
    return { storage, cleanup: () => storage.close() };
  };

  runStorageConformance('postgresql', open);
  runListScaleTest('postgresql', open);

  runHALockTests('postgresql', async () => {
    const table = fresh();
    const haTable = `${table}_ha`;
    const make = () =>
      new PostgresStorage({
        connection_url: server.url,
        table,
        ha_table: haTable,
        ha_enabled: true,
        lock_timeout: '2s',
      });
    // What the database's clock does to the row of a holder frozen past its TTL.
    const expire = async () => {
      const other = make();
      await other.query(
        `UPDATE "${haTable}" SET valid_until = clock_timestamp() - interval '1 second'`,
        [],
      );
      await other.close();
    };
    return { make, expire };
  });

  test('two nodes starting at once both create-or-find the schema', async () => {
    const table = fresh();
    const nodes = Array.from(
      { length: 4 },
      () => new PostgresStorage({ connection_url: server.url, table }),
    );
    try {
      await Promise.all(nodes.map((n) => n.ping()));
      await nodes[0]!.put('k', Buffer.from('v'));
      assert.deepEqual(await nodes[3]!.get('k'), Buffer.from('v'));
    } finally {
      await Promise.all(nodes.map((n) => n.close()));
    }
  });

  test('a watcher on one node sees writes from another, in revision order', async () => {
    const table = fresh();
    const a = new PostgresStorage({ connection_url: server.url, table });
    const b = new PostgresStorage({ connection_url: server.url, table });
    try {
      await a.ping();
      const events: WatchEvent[] = [];
      b.watch('x/', (e) => events.push(e));
      await b.revision();
      await new Promise((r) => setTimeout(r, 300));
      const revisions = await Promise.all(
        Array.from({ length: 50 }, (_, i) => a.put(`x/${i}`, Buffer.from('v'))),
      );
      const deadline = Date.now() + 5000;
      while (events.length < 50 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      assert.equal(events.length, 50);
      const seen = events.map((e) => e.revision);
      assert.deepEqual(
        seen,
        [...seen].sort((x, y) => x - y),
      );
      assert.deepEqual(new Set(seen), new Set(revisions));
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('a database restart fails writes in between and then they resume', async () => {
    const { storage, cleanup } = await open();
    try {
      await storage.put('r/1', Buffer.from('1'));
      await server.kill('SIGKILL');
      await assert.rejects(storage.put('r/2', Buffer.from('2')));
      await server.restart();
      let resumed = false;
      for (let i = 0; i < 50 && !resumed; i++) {
        resumed = await storage.put('r/3', Buffer.from('3')).then(
          () => true,
          () => false,
        );
        if (!resumed) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(resumed, 'writes resume after the restart');
      assert.deepEqual(await storage.get('r/1'), Buffer.from('1'));
      assert.deepEqual(await storage.list('r/'), ['1', '3']);
    } finally {
      await cleanup();
    }
  });

  test('a table name that is not an identifier is refused', () => {
    assert.throws(
      () => new PostgresStorage({ connection_url: server.url, table: 'x; DROP TABLE y' }),
      /invalid table/,
    );
  });
});
