import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryStorage } from '../storage/memory.ts';
import { ChangeFeed } from './change-feed.ts';
import { ConsulError, type TxnAborted } from './errors.ts';
import { ConfigStore } from './store.ts';
import { parseTxn, runTxn } from './txn.ts';

const ALICE = { displayName: 'userpass-alice', accessor: 'acc-alice', remoteAddr: '10.0.0.7' };
const BOB = { displayName: 'token-bob', accessor: 'acc-bob', remoteAddr: '10.0.0.8' };

function newStore(opts: { clock?: () => number; storage?: MemoryStorage } = {}) {
  const storage = opts.storage ?? new MemoryStorage();
  const store = new ConfigStore({
    storage,
    changes: new ChangeFeed((prefix, onEvent) => storage.watch(prefix, onEvent), ''),
    nodeName: 'node-1',
    clock: opts.clock,
    sessionTtlMinNs: 1e6,
  });
  return { store, storage };
}

const value = (text: string) => Buffer.from(text);

async function put(store: ConfigStore, key: string, text: string, flags = 0n) {
  return store.write(ALICE, (b) => b.set({ key, value: value(text), flags }));
}

async function session(
  store: ConfigStore,
  extra: Partial<{ behavior: string; ttl: string; lockDelayNs: number }> = {},
) {
  return store.createSession(
    {
      name: 'test',
      node: 'node-1',
      lockDelayNs: extra.lockDelayNs ?? 0,
      behavior: extra.behavior ?? 'release',
      ttl: extra.ttl ?? '',
      nodeChecks: ['serfHealth'],
      serviceChecks: [],
    },
    ALICE,
  );
}

describe('ConfigStore indexes', () => {
  it('numbers a write from the storage revision and keeps CreateIndex across updates', async () => {
    const { store, storage } = newStore();
    const first = await put(store, 'app/a', '1');
    assert.equal(first.createIndex, first.modifyIndex);
    assert.ok(first.modifyIndex <= (await storage.revision()));
    const second = await put(store, 'app/a', '2');
    assert.equal(second.createIndex, first.createIndex);
    assert.ok(second.modifyIndex > first.modifyIndex);
  });

  it('keeps the ModifyIndex when a set changes nothing, and writes nothing', async () => {
    const { store, storage } = newStore();
    const first = await put(store, 'k', 'same');
    const revision = await storage.revision();
    const again = await put(store, 'k', 'same');
    assert.equal(again.modifyIndex, first.modifyIndex);
    assert.equal(await storage.revision(), revision);
  });

  it('gives a missing key the table index, never 0', async () => {
    const { store } = newStore();
    assert.equal((await store.getKey('nothing')).index, 1);
    const written = await put(store, 'x', '1');
    assert.equal((await store.getKey('nothing')).index, written.modifyIndex);
  });

  it('moves a prefix index on delete through its tombstone', async () => {
    const { store } = newStore();
    await put(store, 'app/a', '1');
    await put(store, 'other/b', '1');
    const before = (await store.list('app/')).index;
    await store.write(ALICE, (b) => b.delete('app/a'));
    const after = await store.list('app/');
    assert.deepEqual(after.value, []);
    assert.ok(after.index > before, `${after.index} > ${before}`);
    // Another prefix keeps its own index.
    assert.equal((await store.list('other/')).index, (await store.getKey('other/b')).index);
  });

  it('lists by plain string prefix, folder markers included, in key order', async () => {
    const { store } = newStore();
    for (const key of ['app/', 'app/z', 'app/a/b', 'apple', 'ap', 'b']) await put(store, key, key);
    const keys = (await store.list('ap')).value.map((e) => e.key);
    assert.deepEqual(keys, ['ap', 'app/', 'app/a/b', 'app/z', 'apple']);
    assert.deepEqual(
      (await store.list('app/')).value.map((e) => e.key),
      ['app/', 'app/a/b', 'app/z'],
    );
  });
});

describe('ConfigStore check-and-set', () => {
  it('creates only with cas 0 and updates only at the current ModifyIndex', async () => {
    const { store } = newStore();
    const cas = (key: string, text: string, index: bigint) =>
      store.write(ALICE, (b) => b.cas({ key, value: value(text), flags: 0n }, index));
    const created = await cas('k', 'v1', 0n);
    assert.ok(created);
    assert.equal(await cas('k', 'again', 0n), undefined);
    assert.equal(await cas('k', 'stale', BigInt(created.modifyIndex + 100)), undefined);
    const updated = await cas('k', 'v2', BigInt(created.modifyIndex));
    assert.equal(updated?.value?.toString(), 'v2');
    assert.equal(await cas('missing', 'x', 5n), undefined);
    assert.equal((await store.getKey('k')).value?.value?.toString(), 'v2');
  });

  it('deletes with cas only at the current index, and reports a missing key as done', async () => {
    const { store } = newStore();
    const entry = await put(store, 'k', 'v');
    assert.equal(await store.write(ALICE, (b) => b.deleteCas('k', 999n)), false);
    assert.ok((await store.getKey('k')).value);
    assert.equal(
      await store.write(ALICE, (b) => b.deleteCas('k', BigInt(entry.modifyIndex))),
      true,
    );
    assert.equal((await store.getKey('k')).value, undefined);
    assert.equal(await store.write(ALICE, (b) => b.deleteCas('k', 1n)), true);
  });
});

describe('ConfigStore sessions and locks', () => {
  it('lets one session hold a lock that another cannot take', async () => {
    const { store } = newStore();
    const s1 = await session(store);
    const s2 = await session(store);
    const lock = (s: string, text: string) =>
      store.write(ALICE, (b) =>
        b.lock({ key: 'leader', value: value(text), flags: 0n, session: s }),
      );
    const held = await lock(s1, 'one');
    assert.equal(held?.lockIndex, 1);
    assert.equal(held?.session, s1);
    assert.equal(await lock(s2, 'two'), undefined);
    // The holder taking it again keeps the LockIndex.
    assert.equal((await lock(s1, 'one'))?.lockIndex, 1);
    const released = await store.write(ALICE, (b) =>
      b.unlock({ key: 'leader', value: value('one'), flags: 0n, session: s1 }),
    );
    assert.equal(released?.session, '');
    const taken = await lock(s2, 'two');
    assert.equal(taken?.lockIndex, 2);
  });

  it('refuses a lock with an unknown or missing session with Consul words', async () => {
    const { store } = newStore();
    const attempt = (s: string) =>
      store.write(ALICE, (b) => b.lock({ key: 'k', value: null, flags: 0n, session: s }));
    await assert.rejects(attempt('6f1d1f0a-0000-4000-8000-000000000000'), (err: ConsulError) => {
      assert.equal(err.status, 500);
      assert.equal(err.message, 'invalid session "6f1d1f0a-0000-4000-8000-000000000000"');
      return true;
    });
    await assert.rejects(attempt(''), /missing session/);
    assert.equal((await store.getKey('k')).value, undefined);
  });

  it('releases or deletes held keys when a session is destroyed, then applies the lock delay', async () => {
    let now = 1_000_000;
    const { store } = newStore({ clock: () => now });
    const releaser = await session(store, { lockDelayNs: 5e9 });
    const deleter = await session(store, { behavior: 'delete' });
    await store.write(ALICE, async (b) => {
      await b.lock({ key: 'r', value: value('r'), flags: 0n, session: releaser });
      await b.lock({ key: 'd', value: value('d'), flags: 0n, session: deleter });
    });
    await store.destroySession(releaser, ALICE);
    await store.destroySession(deleter, ALICE);
    const r = (await store.getKey('r')).value;
    assert.equal(r?.session, '');
    assert.equal(r?.value?.toString(), 'r');
    assert.equal((await store.getKey('d')).value, undefined);

    const other = await session(store);
    const lock = () =>
      store.write(ALICE, (b) => b.lock({ key: 'r', value: null, flags: 0n, session: other }));
    assert.equal(await lock(), undefined, 'held back by the lock delay');
    now += 5001;
    assert.ok(await lock());
  });

  it('invalidates a TTL session after twice its TTL unless renewed', async () => {
    const { store } = newStore();
    const id = await session(store, { ttl: '20ms' });
    await store.write(ALICE, (b) => b.lock({ key: 'k', value: null, flags: 0n, session: id }));
    await new Promise((r) => setTimeout(r, 25));
    assert.ok(await store.renewSession(id));
    await new Promise((r) => setTimeout(r, 25));
    assert.ok((await store.getSession(id)).value, 'renewed: still alive after 50ms');
    const deadline = Date.now() + 2000;
    while ((await store.getSession(id)).value && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal((await store.getSession(id)).value, undefined);
    assert.equal((await store.getKey('k')).value?.session, '');
    store.close();
  });
});

describe('ConfigStore blocking queries', () => {
  it('returns as soon as a write moves the index past the one given', async () => {
    const { store } = newStore();
    const first = await put(store, 'cfg/a', '1');
    const started = Date.now();
    const waiting = store.blocking(() => store.getKey('cfg/a'), ConfigStore.keyWatch('cfg/a'), {
      minIndex: BigInt(first.modifyIndex),
      deadlineMs: Date.now() + 5000,
    });
    setTimeout(() => void put(store, 'cfg/a', '2'), 30);
    const result = await waiting;
    assert.equal(result.value?.value?.toString(), '2');
    assert.ok(Date.now() - started < 2000);
  });

  it('is not woken by writes elsewhere and answers at the deadline', async () => {
    const { store } = newStore();
    const first = await put(store, 'cfg/a', '1');
    const started = Date.now();
    const waiting = store.blocking(() => store.getKey('cfg/a'), ConfigStore.keyWatch('cfg/a'), {
      minIndex: BigInt(first.modifyIndex),
      deadlineMs: Date.now() + 150,
    });
    await put(store, 'cfg/b', 'x');
    const result = await waiting;
    assert.equal(result.index, first.modifyIndex);
    assert.ok(Date.now() - started >= 140);
  });

  it('stops waiting when the feed closes', async () => {
    const { store } = newStore();
    await put(store, 'k', '1');
    const waiting = store.blocking(() => store.getKey('k'), ConfigStore.keyWatch('k'), {
      minIndex: 10_000n,
      deadlineMs: Date.now() + 60_000,
    });
    store.close();
    assert.equal((await waiting).value?.value?.toString(), '1');
  });
});

describe('ConfigStore transactions', () => {
  const run = (store: ConfigStore, body: unknown) =>
    store.write(ALICE, (batch) =>
      runTxn(batch, parseTxn(Buffer.from(JSON.stringify(body)), 512 * 1024), {
        precheck: async () => undefined,
        visible: () => true,
      }),
    );
  const b64 = (text: string) => Buffer.from(text).toString('base64');

  it('applies every operation at one index and sees its own writes', async () => {
    const { store } = newStore();
    const results = await run(store, [
      { KV: { Verb: 'set', Key: 't/a', Value: b64('1') } },
      { kv: { verb: 'set', key: 't/b', value: b64('2'), flags: 7 } },
      { KV: { Verb: 'get', Key: 't/a' } },
    ]);
    const parsed = results.map((r) => JSON.parse(r).KV);
    assert.equal(parsed[0].Value, null, 'write verbs answer without the value');
    assert.equal(parsed[1].Flags, 7);
    assert.equal(parsed[2].Value, b64('1'));
    assert.equal(parsed[0].ModifyIndex, parsed[1].ModifyIndex);
  });

  it('rolls everything back when one operation fails and names each failure', async () => {
    const { store, storage } = newStore();
    await put(store, 'keep', 'old');
    const revision = await storage.revision();
    await assert.rejects(
      run(store, [
        { KV: { Verb: 'set', Key: 'keep', Value: b64('new') } },
        { KV: { Verb: 'check-index', Key: 'keep', Index: 1 } },
        { KV: { Verb: 'get', Key: 'nope' } },
        { KV: { Verb: 'frobnicate', Key: 'x' } },
      ]),
      (err: TxnAborted) => {
        assert.deepEqual(err.errors, [
          {
            OpIndex: 1,
            What: `failed index check for key "keep", current modify index ${revision + 1} != 1`,
          },
          { OpIndex: 2, What: 'key "nope" doesn\'t exist' },
          { OpIndex: 3, What: 'unknown KV verb "frobnicate"' },
        ]);
        return true;
      },
    );
    assert.equal((await store.getKey('keep')).value?.value?.toString(), 'old');
    assert.equal(await storage.revision(), revision, 'nothing was written');
  });
});

describe('ConfigStore history', () => {
  it('records who changed what, before and after, and rolls a prefix back', async () => {
    let now = Date.parse('2026-03-01T10:00:00Z');
    const { store } = newStore({ clock: () => now });
    await put(store, 'app/db/host', 'db1');
    await put(store, 'app/db/port', '5432');
    const checkpoint = now;
    now += 60_000;
    await store.write(BOB, (b) => b.set({ key: 'app/db/host', value: value('db2'), flags: 0n }));
    await store.write(BOB, (b) => b.delete('app/db/port'));
    await store.write(BOB, (b) => b.set({ key: 'app/db/new', value: value('x'), flags: 0n }));

    const history = await store.history('app/db/host', 10);
    assert.equal(history.length, 2);
    assert.equal(history[0]?.author.display_name, 'token-bob');
    assert.equal(history[0]?.author.remote_addr, '10.0.0.8');
    assert.equal(history[0]?.before?.value, value('db1').toString('base64'));
    assert.equal(history[0]?.after?.value, value('db2').toString('base64'));
    assert.equal(history[1]?.action, 'create');

    const byBob = await store.searchHistory({ author: 'acc-bob', prefix: 'app/', limit: 100 });
    assert.deepEqual(
      byBob.map((e) => [e.key, e.action]),
      [
        ['app/db/new', 'create'],
        ['app/db/port', 'delete'],
        ['app/db/host', 'update'],
      ],
    );

    now += 60_000;
    const rollback = await store.rollback('app/db/', {
      recurse: true,
      toMs: checkpoint,
      author: ALICE,
      check: () => {},
    });
    assert.deepEqual(rollback.changed.sort(), ['app/db/host', 'app/db/new', 'app/db/port']);
    const keys = (await store.list('app/db/')).value.map((e) => [e.key, e.value?.toString()]);
    assert.deepEqual(keys, [
      ['app/db/host', 'db1'],
      ['app/db/port', '5432'],
    ]);
    const latest = await store.searchHistory({ prefix: 'app/db/', limit: 3 });
    assert.ok(latest.every((e) => e.author.accessor === 'acc-alice'));
  });

  it('refuses a rollback the caller may not make, changing nothing', async () => {
    let now = 1_000;
    const { store } = newStore({ clock: () => now });
    await put(store, 'a', '1');
    const t = now;
    now += 1000;
    await put(store, 'a', '2');
    await assert.rejects(
      store.rollback('a', {
        recurse: false,
        toMs: t,
        author: BOB,
        check: () => {
          throw new ConsulError(403, 'Permission denied');
        },
      }),
      /Permission denied/,
    );
    assert.equal((await store.getKey('a')).value?.value?.toString(), '2');
  });

  it('keeps only a hash of sensitive values, and no more entries than the retention allows', async () => {
    const storage = new MemoryStorage();
    const store = new ConfigStore({
      storage,
      changes: new ChangeFeed((p, cb) => storage.watch(p, cb), ''),
      nodeName: 'n',
      history: { sensitivePrefixes: ['secret/'], maxEntriesPerKey: 3 },
    });
    await put(store, 'secret/token', 'hunter2');
    const [entry] = await store.history('secret/token', 1);
    assert.equal(entry?.after?.value, undefined);
    assert.match(entry?.after?.sha256 ?? '', /^[0-9a-f]{64}$/);

    for (let i = 0; i < 6; i++) await put(store, 'counter', String(i));
    await store.sweep();
    const kept = await store.history('counter', 100);
    assert.deepEqual(
      kept.map((e) => Buffer.from(e.after?.value ?? '', 'base64').toString()),
      ['5', '4', '3'],
    );
    store.close();
  });
});
