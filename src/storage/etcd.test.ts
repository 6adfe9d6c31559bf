import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { requirePackage } from '../../test/helpers/keep-server.ts';
import { type EtcdCluster, etcdAvailable, startEtcd } from '../../test/helpers/services.ts';
import { runStorageConformance } from './conformance.ts';
import { EtcdStorage } from './etcd.ts';
import { runHALockTests } from './ha-lock-conformance.ts';
import { LockLostError } from './lock-util.ts';

const skip = requirePackage(etcdAvailable(), 'etcd-server');

for (const members of [1, 3]) {
  describe(`etcd with ${members} member${members > 1 ? 's' : ''}`, { skip }, () => {
    let cluster: EtcdCluster;
    before(async () => {
      cluster = await startEtcd(members);
    });
    after(async () => {
      await cluster?.stop();
    });

    // Each test gets its own key prefix in the one cluster: a fresh, empty store.
    const open = (extra: Record<string, unknown> = {}) => {
      const storage = new EtcdStorage({
        address: cluster.endpoints.join(','),
        path: `/t-${randomUUID()}/`,
        ...extra,
      });
      return storage;
    };

    runStorageConformance(`etcd (${members})`, async () => {
      const storage = open();
      return { storage, cleanup: () => storage.close() };
    });

    runHALockTests(`etcd (${members})`, async () => {
      const path = `/ha-${randomUUID()}/`;
      const make = () =>
        new EtcdStorage({
          address: cluster.endpoints.join(','),
          path,
          ha_enabled: true,
          lock_timeout: '2s',
        });
      // Revoking the holder's lease from another client is what etcd does
      // when the holder freezes for longer than the TTL.
      const expire = async () => {
        const other = make();
        const res = await other.client.kv.range({ key: other.lockKey });
        const lease = res.kvs[0]?.lease;
        if (lease) await other.client.leaseClient.leaseRevoke({ ID: lease });
        await other.close();
      };
      return { make, expire };
    });

    test('a list longer than one page comes back whole and in order', async () => {
      const storage = open();
      try {
        const keys = Array.from({ length: 2500 }, (_, i) => `p/${String(i).padStart(5, '0')}`);
        for (let i = 0; i < keys.length; i += 500) {
          await storage.transaction(
            keys.slice(i, i + 500).map((key) => ({ op: 'put', key, value: Buffer.from(key) })),
          );
        }
        await storage.put('p/sub/x', Buffer.from('x'));
        const names = await storage.list('p/');
        assert.equal(names.length, 2501);
        assert.equal(names[0], '00000');
        assert.equal(names.at(-1), 'sub/');
      } finally {
        await storage.close();
      }
    });

    test('keys live under the configured path and nowhere else', async () => {
      const a = open();
      const b = open();
      try {
        await a.put('k', Buffer.from('a'));
        assert.equal(await b.get('k'), undefined);
        assert.deepEqual(await b.list(''), []);
      } finally {
        await a.close();
        await b.close();
      }
    });

    if (members === 3) {
      test('with one member of three killed, reads and writes go on', async () => {
        const storage = open();
        try {
          await storage.put('q/1', Buffer.from('1'));
          await cluster.kill(2);
          await storage.put('q/2', Buffer.from('2'));
          assert.deepEqual(await storage.get('q/1'), Buffer.from('1'));
          assert.deepEqual(await storage.list('q/'), ['1', '2']);
          await cluster.restart(2);
        } finally {
          await storage.close();
        }
      });
    }
  });
}

test('an etcd address that is not a URL is refused', () => {
  assert.throws(() => new EtcdStorage({ address: 'localhost:2379' }), /invalid address/);
});

test('LockLostError is an Error', () => {
  assert.ok(new LockLostError() instanceof Error);
});
