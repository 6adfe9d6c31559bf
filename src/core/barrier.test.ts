import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import { BadRequestError, ConflictError, SealedError } from '../lib/errors.ts';
import { MemoryStorage } from '../storage/memory.ts';
import type { Storage, TxnOp, WatchEvent } from '../storage/types.ts';
import { Barrier, BarrierDecryptError } from './barrier.ts';
import { InvalidUnsealKeyError, KEYRING_PATH, SEAL_CONFIG_PATH } from './keyring.ts';

/** A tiny Map-based Storage for these tests. */
class MapStorage implements Storage {
  readonly type = 'map';
  readonly data = new Map<string, Buffer>();
  private rev = 0;
  private watchers = new Set<{ prefix: string; fn: (e: WatchEvent) => void }>();
  async get(key: string) {
    const v = this.data.get(key);
    return v === undefined ? undefined : Buffer.from(v);
  }
  async put(key: string, value: Buffer) {
    return this.transaction([{ op: 'put', key, value }]);
  }
  async delete(key: string) {
    return this.transaction([{ op: 'delete', key }]);
  }
  async list(prefix: string) {
    const out = new Set<string>();
    for (const k of this.data.keys()) {
      if (!k.startsWith(prefix)) continue;
      const rest = k.slice(prefix.length);
      const i = rest.indexOf('/');
      out.add(i === -1 ? rest : rest.slice(0, i + 1));
    }
    return [...out].sort();
  }
  async transaction(ops: TxnOp[]) {
    this.rev++;
    for (const op of ops) {
      if (op.op === 'put') this.data.set(op.key, Buffer.from(op.value));
      else this.data.delete(op.key);
      for (const w of this.watchers) {
        if (op.key.startsWith(w.prefix)) w.fn({ type: op.op, key: op.key, revision: this.rev });
      }
    }
    return this.rev;
  }
  async revision() {
    return this.rev;
  }
  watch(prefix: string, fn: (e: WatchEvent) => void) {
    const w = { prefix, fn };
    this.watchers.add(w);
    return () => {
      this.watchers.delete(w);
    };
  }
  async close() {}
}

const RESERVED = new Set([SEAL_CONFIG_PATH, KEYRING_PATH]);

async function unsealedBarrier() {
  const storage = new MapStorage();
  const barrier = new Barrier(storage);
  const unsealKey = randomBytes(32);
  await barrier.initialize(unsealKey);
  assert.equal(barrier.sealed, true, 'initialize leaves the barrier sealed');
  await barrier.unseal(unsealKey);
  return { storage, barrier, unsealKey };
}

describe('Barrier', () => {
  let storage: MapStorage;
  let barrier: Barrier;
  let unsealKey: Buffer;

  beforeEach(async () => {
    ({ storage, barrier, unsealKey } = await unsealedBarrier());
  });

  it('returns exactly what was put, for random keys and values up to 4 KiB', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ minLength: 1, maxLength: 80 }).filter((k) => !RESERVED.has(k)),
        fc.uint8Array({ maxLength: 4096 }),
        async (key, bytes) => {
          const value = Buffer.from(bytes);
          await barrier.put(key, value);
          const got = await barrier.get(key);
          assert.ok(got);
          assert.equal(Buffer.compare(got, value), 0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never writes the plaintext bytes to the underlying storage', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 8, maxLength: 4096 }), async (bytes) => {
        const value = Buffer.from(bytes);
        await barrier.put('secret/p', value);
        const stored = storage.data.get('secret/p');
        assert.ok(stored);
        assert.equal(stored.includes(value), false);
      }),
      { numRuns: 200 },
    );
    const plain = Buffer.from('{"password":"hunter2-correct-horse-battery-staple"}');
    await barrier.put('secret/app', plain);
    await barrier.transaction([{ op: 'put', key: 'secret/txn', value: plain }]);
    for (const [k, v] of storage.data) {
      assert.equal(v.includes(plain), false, `plaintext found under ${k}`);
      assert.equal(v.includes(Buffer.from('hunter2')), false, `plaintext found under ${k}`);
    }
  });

  it('stores version, term, nonce, ciphertext and tag in that layout', async () => {
    const value = Buffer.from('hello barrier');
    await barrier.put('a', value);
    await barrier.put('b', value);
    const a = storage.data.get('a');
    const b = storage.data.get('b');
    assert.ok(a && b);
    assert.equal(a.length, 1 + 4 + 12 + value.length + 16);
    assert.equal(a[0], 1);
    assert.equal(a.readUInt32BE(1), 1);
    assert.notDeepEqual(a.subarray(5, 17), b.subarray(5, 17), 'each write uses a fresh nonce');
  });

  it('refuses a ciphertext moved to another key, naming the path and not the data', async () => {
    await barrier.put('secret/one', Buffer.from('top-secret-value'));
    const blob = storage.data.get('secret/one');
    assert.ok(blob);
    storage.data.set('secret/two', Buffer.from(blob));
    await assert.rejects(barrier.get('secret/two'), (err: unknown) => {
      assert.ok(err instanceof BarrierDecryptError);
      assert.match(err.message, /failed to decrypt/);
      assert.match(err.message, /secret\/two/);
      assert.doesNotMatch(err.message, /top-secret-value/);
      assert.equal(err.status, 500);
      return true;
    });
    // The original still reads.
    assert.equal((await barrier.get('secret/one'))?.toString(), 'top-secret-value');
  });

  it('refuses a ciphertext with one flipped bit or a truncated value', async () => {
    await barrier.put('k', Buffer.from('some value'));
    const blob = storage.data.get('k');
    assert.ok(blob);
    for (const i of [5, 17, blob.length - 1]) {
      const bad = Buffer.from(blob);
      bad[i] = (bad[i] ?? 0) ^ 0x01;
      storage.data.set('k', bad);
      await assert.rejects(barrier.get('k'), /failed to decrypt/);
    }
    storage.data.set('k', blob.subarray(0, 20));
    await assert.rejects(barrier.get('k'), BarrierDecryptError);
  });

  it('keeps old entries readable after rotation and encrypts new ones with the new term', async () => {
    const before = barrier.keyStatus();
    assert.equal(before.term, 1);
    await barrier.put('old', Buffer.from('written under term 1'));
    const status = await barrier.rotate();
    assert.equal(status.term, 2);
    assert.equal(status.encryptions, 0);
    assert.ok(Date.parse(status.install_time) >= Date.parse(before.install_time));
    assert.match(status.install_time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);

    await barrier.put('new', Buffer.from('written under term 2'));
    assert.equal(storage.data.get('old')?.readUInt32BE(1), 1);
    assert.equal(storage.data.get('new')?.readUInt32BE(1), 2);
    assert.equal((await barrier.get('old'))?.toString(), 'written under term 1');
    assert.equal((await barrier.get('new'))?.toString(), 'written under term 2');

    // The rotation was persisted: after seal and unseal term 2 is still active.
    barrier.seal();
    await barrier.unseal(unsealKey);
    assert.equal(barrier.keyStatus().term, 2);
    assert.equal((await barrier.get('old'))?.toString(), 'written under term 1');
    assert.equal((await barrier.get('new'))?.toString(), 'written under term 2');
  });

  it('counts encryptions under the active term', async () => {
    assert.equal(barrier.keyStatus().encryptions, 0);
    await barrier.put('a', Buffer.from('1'));
    await barrier.transaction([
      { op: 'put', key: 'b', value: Buffer.from('2') },
      { op: 'put', key: 'c', value: Buffer.from('3') },
      { op: 'delete', key: 'a' },
    ]);
    await barrier.get('b');
    assert.equal(barrier.keyStatus().encryptions, 3);
  });

  it('reads entries written by another node after a rotation it has not seen', async () => {
    const other = new Barrier(storage);
    await other.unseal(unsealKey);
    await other.rotate();
    await other.put('from-other', Buffer.from('term 2 value'));
    assert.equal(barrier.keyStatus().term, 1);
    assert.equal((await barrier.get('from-other'))?.toString(), 'term 2 value');
    assert.equal(barrier.keyStatus().term, 2);
    // And a rotation here keeps the other node's term.
    await barrier.rotate();
    assert.equal(barrier.keyStatus().term, 3);
    assert.equal((await barrier.get('from-other'))?.toString(), 'term 2 value');
  });

  it('throws SealedError from every storage method while sealed', async () => {
    await barrier.put('x', Buffer.from('y'));
    barrier.seal();
    assert.equal(barrier.sealed, true);
    await assert.rejects(barrier.get('x'), SealedError);
    await assert.rejects(barrier.put('x', Buffer.from('z')), SealedError);
    await assert.rejects(barrier.delete('x'), SealedError);
    await assert.rejects(barrier.list(''), SealedError);
    await assert.rejects(barrier.transaction([]), SealedError);
    await assert.rejects(barrier.revision(), SealedError);
    await assert.rejects(barrier.rotate(), SealedError);
    await assert.rejects(barrier.put(KEYRING_PATH, Buffer.from('z')), SealedError);
    assert.throws(() => barrier.watch('', () => {}), SealedError);
    assert.throws(() => barrier.keyStatus(), SealedError);
    // Nothing was written while sealed: after unsealing, the old value is still there.
    await barrier.unseal(unsealKey);
    assert.equal((await barrier.get('x'))?.toString(), 'y');
  });

  it('refuses a wrong unseal key and stays sealed', async () => {
    barrier.seal();
    await assert.rejects(barrier.unseal(randomBytes(32)), InvalidUnsealKeyError);
    assert.equal(barrier.sealed, true);
    assert.equal(await barrier.verifyUnsealKey(randomBytes(32)), false);
    assert.equal(await barrier.verifyUnsealKey(unsealKey), true);
    await barrier.unseal(unsealKey);
    assert.equal(barrier.sealed, false);
  });

  it('refuses caller writes, deletes and reads of the seal config and keyring', async () => {
    const keyringBefore = storage.data.get(KEYRING_PATH);
    for (const key of [SEAL_CONFIG_PATH, KEYRING_PATH]) {
      await assert.rejects(barrier.put(key, Buffer.from('x')), BadRequestError);
      await assert.rejects(barrier.delete(key), BadRequestError);
      await assert.rejects(barrier.get(key), BadRequestError);
      await assert.rejects(
        barrier.transaction([
          { op: 'put', key: 'fine', value: Buffer.from('1') },
          { op: 'delete', key },
        ]),
        BadRequestError,
      );
    }
    assert.deepEqual(storage.data.get(KEYRING_PATH), keyringBefore);
    assert.equal(storage.data.has('fine'), false, 'a refused transaction writes nothing');
    // Other keys under core/ are fine.
    await barrier.put('core/mounts', Buffer.from('m'));
    assert.equal((await barrier.get('core/mounts'))?.toString(), 'm');
  });

  it('passes list, delete, revision and watch through to the underlying storage', async () => {
    const events: WatchEvent[] = [];
    const stop = barrier.watch('app/', (e) => events.push(e));
    const r1 = await barrier.put('app/a', Buffer.from('1'));
    await barrier.put('app/dir/b', Buffer.from('2'));
    assert.deepEqual(await barrier.list('app/'), ['a', 'dir/']);
    const r3 = await barrier.delete('app/a');
    assert.ok(r3 > r1);
    assert.equal(await barrier.revision(), await storage.revision());
    assert.equal(await barrier.get('app/a'), undefined);
    assert.deepEqual(
      events.map((e) => [e.type, e.key]),
      [
        ['put', 'app/a'],
        ['put', 'app/dir/b'],
        ['delete', 'app/a'],
      ],
    );
    stop();
    assert.equal(barrier.type, 'map');
  });

  it('re-encrypts the keyring on rekey so only the new unseal key opens it', async () => {
    await barrier.put('kept', Buffer.from('still here'));
    const newKey = randomBytes(32);
    await barrier.rekey(newKey, [{ op: 'put', key: SEAL_CONFIG_PATH, value: Buffer.from('{}') }]);
    assert.equal(storage.data.get(SEAL_CONFIG_PATH)?.toString(), '{}');
    barrier.seal();
    await assert.rejects(barrier.unseal(unsealKey), InvalidUnsealKeyError);
    await barrier.unseal(newKey);
    assert.equal((await barrier.get('kept'))?.toString(), 'still here');
  });

  it('refuses to rotate over a keyring another node rekeyed', async () => {
    const other = new Barrier(storage);
    await other.unseal(unsealKey);
    await other.rekey(randomBytes(32), []);
    await assert.rejects(barrier.rotate(), ConflictError);
  });
});

describe('Barrier over MemoryStorage', () => {
  it('round-trips, lists and survives rotation on the real in-memory backend', async () => {
    const storage = new MemoryStorage();
    const barrier = new Barrier(storage);
    const unsealKey = randomBytes(32);
    await barrier.initialize(unsealKey);
    await barrier.unseal(unsealKey);
    const segment = fc.stringMatching(/^[a-z0-9_.-]{1,10}$/);
    const key = fc
      .array(segment, { minLength: 1, maxLength: 4 })
      .map((parts) => `data/${parts.join('/')}`);
    await fc.assert(
      fc.asyncProperty(
        key,
        fc.uint8Array({ maxLength: 4096 }),
        fc.boolean(),
        async (k, bytes, rot) => {
          if (rot) await barrier.rotate();
          const value = Buffer.from(bytes);
          await barrier.put(k, value);
          const stored = await storage.get(k);
          assert.ok(stored);
          assert.equal(stored.readUInt32BE(1), barrier.keyStatus().term);
          assert.deepEqual(await barrier.get(k), value);
        },
      ),
      { numRuns: 100 },
    );
    assert.ok((await barrier.list('data/')).length > 0);
    assert.ok(barrier.keyStatus().term > 1);
    barrier.seal();
    await barrier.unseal(unsealKey);
    for (const name of await barrier.list('data/')) {
      if (!name.endsWith('/')) assert.ok(await barrier.get(`data/${name}`));
    }
  });
});
