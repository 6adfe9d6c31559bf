/**
 * npm's `consul` package (2.x) drives the Consul face of a dev server:
 * KV with flags, recurse and keys, check-and-set, a watch woken by another
 * client's write, sessions and locks, and transactions that apply whole or
 * not at all.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Consul from 'consul';
import { consul as raw } from './helpers/consul-kit.ts';
import { type KeepProcess, startDevKeep } from './helpers/keep-server.ts';

const ROOT = 'consul-node-root';

interface Entry {
  Key: string;
  Value: string | null;
  Flags: number;
  Session?: string;
  LockIndex: number;
  ModifyIndex: number;
}

/** One key, as this client answers it (undefined when missing). */
async function kvGet(client: Consul, key: string): Promise<Entry> {
  return (await client.kv.get(key)) as unknown as Entry;
}

describe('npm consul against the Consul face of a dev server', () => {
  let server: KeepProcess;
  let client: Consul;
  let other: Consul;

  before(async () => {
    server = await startDevKeep(ROOT);
    const url = new URL(server.consulAddr!);
    const opts = { host: url.hostname, port: Number(url.port), defaults: { token: ROOT } };
    client = new Consul(opts);
    other = new Consul(opts);
  });

  after(async () => {
    await server?.stop();
  });

  it('sets and gets values with flags, lists with recurse and keys', async () => {
    assert.equal(await client.kv.set({ key: 'web/port', value: '8080', flags: 7 }), true);
    assert.equal(await client.kv.set('web/host', 'example.internal'), true);
    assert.equal(await client.kv.set('web/tls/cert', 'PEM'), true);
    const got = await kvGet(client, 'web/port');
    assert.equal(got?.Value, '8080');
    assert.equal(got?.Flags, 7);
    assert.equal(await kvGet(client, 'web/none'), undefined);

    const all = (await client.kv.get({ key: 'web/', recurse: true })) as { Key: string }[];
    assert.deepEqual(
      all.map((e) => e.Key),
      ['web/host', 'web/port', 'web/tls/cert'],
    );
    assert.deepEqual(await client.kv.keys({ key: 'web/', separator: '/' }), [
      'web/host',
      'web/port',
      'web/tls/',
    ]);
    assert.deepEqual(await client.kv.keys(''), ['web/host', 'web/port', 'web/tls/cert']);
  });

  it('sets with check-and-set only at the current index', async () => {
    assert.equal(await client.kv.set({ key: 'cas/k', value: 'v1', cas: 0 }), true);
    const current = await kvGet(client, 'cas/k');
    // The client answers a refused set (body `false`) with a falsy result.
    assert.ok(!(await client.kv.set({ key: 'cas/k', value: 'x', cas: 0 })));
    assert.ok(!(await client.kv.set({ key: 'cas/k', value: 'x', cas: current.ModifyIndex + 1 })));
    assert.equal(
      await client.kv.set({ key: 'cas/k', value: 'v2', cas: current.ModifyIndex }),
      true,
    );
    assert.equal((await kvGet(client, 'cas/k')).Value, 'v2');
  });

  it('wakes a watch when another client writes', async () => {
    await client.kv.set('watched/flag', 'off');
    const seen: string[] = [];
    const watch = client.watch({ method: client.kv.get, options: { key: 'watched/flag' } });
    const changed = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no change seen: ${seen}`)), 10_000);
      watch.on('change', (data: { Value: string }) => {
        seen.push(data.Value);
        if (seen.length === 1) {
          setTimeout(() => void other.kv.set('watched/flag', 'on'), 200);
        } else {
          clearTimeout(timer);
          resolve();
        }
      });
      watch.on('error', reject);
    });
    const started = Date.now();
    try {
      await changed;
    } finally {
      watch.end();
    }
    assert.deepEqual(seen, ['off', 'on']);
    assert.ok(Date.now() - started < 5000, 'the watch waited for its timeout instead of waking');
  });

  it('lets one session hold a lock a second session cannot take', async () => {
    const s1 = (await client.session.create({ name: 'a', ttl: '15s', lockdelay: '1ms' })).ID;
    const s2 = (await other.session.create({ name: 'b' })).ID;
    assert.equal(await client.kv.set({ key: 'lock/job', value: 'a', acquire: s1 }), true);
    assert.ok(!(await other.kv.set({ key: 'lock/job', value: 'b', acquire: s2 })));
    const held = await kvGet(client, 'lock/job');
    assert.equal(held.Session, s1);
    assert.equal(held.LockIndex, 1);

    // This client answers info with the one session, not an array.
    const info = await client.session.info(s1);
    assert.equal(info.TTL, '15s');
    assert.equal(info.LockDelay, 1e6);
    assert.ok((await client.session.list()).some((s: { ID: string }) => s.ID === s2));
    assert.ok((await client.session.node(info.Node)).some((s: { ID: string }) => s.ID === s1));

    await client.session.destroy(s1);
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(await other.kv.set({ key: 'lock/job', value: 'b', acquire: s2 }), true);
    const taken = await kvGet(client, 'lock/job');
    assert.equal(taken.Session, s2);
    assert.equal(taken.LockIndex, 2);
    await other.session.destroy(s2);
  });

  it('applies a multi-operation transaction atomically', async () => {
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const current = await kvGet(client, 'web/port');
    // The package's typings want {operations}; its code takes the array itself.
    const result = await client.transaction.create([
      { KV: { Verb: 'check-index', Key: 'web/port', Index: current.ModifyIndex } },
      { KV: { Verb: 'set', Key: 'web/port', Value: b64('9090') } },
      { KV: { Verb: 'set', Key: 'web/mode', Value: b64('blue'), Flags: 3 } },
      { KV: { Verb: 'delete', Key: 'web/host' } },
      { KV: { Verb: 'get-tree', Key: 'web/' } },
    ] as never);
    assert.equal(result.Errors, null);
    const tree = result.Results!.slice(3).map((r: { KV: { Key: string } }) => r.KV.Key);
    assert.deepEqual(tree, ['web/mode', 'web/port', 'web/tls/cert']);
    assert.equal(result.Results![1]!.KV.Value, null);
    assert.equal((await kvGet(client, 'web/port')).Value, '9090');
    assert.equal(await kvGet(client, 'web/host'), undefined);
  });

  it('rolls a failed transaction back whole and answers 409 with every error', async () => {
    const before = await raw(server, 'GET', '/v1/kv/?recurse', { token: ROOT });
    const res = await raw(server, 'PUT', '/v1/txn', {
      token: ROOT,
      body: JSON.stringify([
        { KV: { Verb: 'set', Key: 'web/port', Value: Buffer.from('1').toString('base64') } },
        { KV: { Verb: 'delete-tree', Key: 'web/' } },
        { KV: { Verb: 'check-not-exists', Key: 'cas/k' } },
        { KV: { Verb: 'lock', Key: 'web/x', Session: '7a1c34a6-1b9b-4bb5-9ac1-5b6a3f6d0000' } },
      ]),
    });
    assert.equal(res.status, 409);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(res.text), {
      Results: null,
      Errors: [
        { OpIndex: 2, What: 'key "cas/k" exists' },
        { OpIndex: 3, What: 'invalid session "7a1c34a6-1b9b-4bb5-9ac1-5b6a3f6d0000"' },
      ],
    });
    const after = await raw(server, 'GET', '/v1/kv/?recurse', { token: ROOT });
    assert.equal(after.text, before.text);
    assert.equal(after.headers['x-consul-index'], before.headers['x-consul-index']);
    await assert.rejects(
      client.transaction.create([{ KV: { Verb: 'get', Key: 'web/none' } }] as never),
      (err: Error & { statusCode?: number }) => err.statusCode === 409,
    );
  });

  it('answers status like a one-node cluster', async () => {
    assert.equal(await client.status.leader(), new URL(server.consulAddr!).host);
    assert.deepEqual(await client.status.peers(), [new URL(server.consulAddr!).host]);
  });
});
