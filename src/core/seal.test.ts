import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { BadRequestError, SealedError } from '../lib/errors.ts';
import type { Storage, TxnOp, WatchEvent } from '../storage/types.ts';
import { InvalidUnsealKeyError, KEYRING_PATH, SEAL_CONFIG_PATH } from './keyring.ts';
import { type RekeyResult, type RekeyStatus, Seal } from './seal.ts';

/** A tiny Map-based Storage for these tests; `failTransactions` makes transactions throw. */
class MapStorage implements Storage {
  readonly type = 'map';
  readonly data = new Map<string, Buffer>();
  failTransactions = false;
  transactions: TxnOp[][] = [];
  private rev = 0;
  async get(key: string) {
    const v = this.data.get(key);
    return v === undefined ? undefined : Buffer.from(v);
  }
  async put(key: string, value: Buffer) {
    this.rev++;
    this.data.set(key, Buffer.from(value));
    return this.rev;
  }
  async delete(key: string) {
    this.rev++;
    this.data.delete(key);
    return this.rev;
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
    if (this.failTransactions) throw new Error('storage unavailable');
    this.transactions.push(ops);
    this.rev++;
    for (const op of ops) {
      if (op.op === 'put') this.data.set(op.key, Buffer.from(op.value));
      else this.data.delete(op.key);
    }
    return this.rev;
  }
  async revision() {
    return this.rev;
  }
  watch(_prefix: string, _fn: (e: WatchEvent) => void) {
    return () => {};
  }
  async close() {}
}

async function initialized(shares: number, threshold: number) {
  const storage = new MapStorage();
  const seal = new Seal({ storage });
  const { keys } = await seal.initialize({ secretShares: shares, secretThreshold: threshold });
  return { storage, seal, keys };
}

async function unsealWith(seal: Seal, keys: Buffer[]) {
  let status = await seal.status();
  for (const k of keys) status = await seal.submitShare(k);
  return status;
}

/** Every k-element subset of [0, n). */
function combinations(n: number, k: number): number[][] {
  if (k === 0) return [[]];
  const out: number[][] = [];
  for (let first = 0; first <= n - k; first++) {
    for (const rest of combinations(n - first - 1, k - 1)) {
      out.push([first, ...rest.map((r) => r + first + 1)]);
    }
  }
  return out;
}

/** A share of the right length that is not one of `keys` and has an unused x-coordinate. */
function forgedShare(keys: Buffer[]): Buffer {
  const used = new Set(keys.map((k) => k[k.length - 1]));
  let x = 1;
  while (used.has(x)) x++;
  return Buffer.concat([randomBytes(32), Buffer.of(x)]);
}

function assertNoKeyMaterial(err: unknown, keys: Buffer[]) {
  const msg = String((err as Error).message);
  for (const k of keys) {
    if (k.length === 0) continue;
    assert.equal(msg.includes(k.toString('hex')), false);
    assert.equal(msg.includes(k.toString('base64')), false);
  }
}

describe('Seal: initialisation', () => {
  it('initialises 5/3, returns five distinct 33-byte shares and stays sealed', async () => {
    const { storage, seal, keys } = await initialized(5, 3);
    assert.equal(keys.length, 5);
    for (const k of keys) assert.equal(k.length, 33);
    assert.equal(new Set(keys.map((k) => k.toString('hex'))).size, 5);
    assert.equal(await seal.initialized(), true);
    assert.deepEqual(await seal.status(), {
      initialized: true,
      sealed: true,
      t: 3,
      n: 5,
      progress: 0,
      nonce: '',
    });
    assert.equal(seal.barrier.sealed, true);
    const cfg = JSON.parse(storage.data.get(SEAL_CONFIG_PATH)?.toString() ?? 'null');
    assert.equal(cfg.secret_shares, 5);
    assert.equal(cfg.secret_threshold, 3);
    assert.ok(storage.data.has(KEYRING_PATH));
    // The stored keyring does not hold the shares or the key in clear.
    for (const v of storage.data.values()) {
      for (const k of keys) assert.equal(v.includes(k.subarray(0, 16)), false);
    }
  });

  it('reports an uninitialised server as sealed with zero counts', async () => {
    const seal = new Seal({ storage: new MapStorage() });
    assert.equal(await seal.initialized(), false);
    assert.deepEqual(await seal.status(), {
      initialized: false,
      sealed: true,
      t: 0,
      n: 0,
      progress: 0,
      nonce: '',
    });
    await assert.rejects(seal.submitShare(randomBytes(33)), BadRequestError);
  });

  it('refuses to initialise twice', async () => {
    const { seal, storage } = await initialized(3, 2);
    const before = storage.data.get(KEYRING_PATH);
    await assert.rejects(seal.initialize({ secretShares: 1, secretThreshold: 1 }), {
      name: 'BadRequestError',
      message: 'Vault is already initialized',
    });
    assert.deepEqual(storage.data.get(KEYRING_PATH), before);
  });

  it("applies Vault's share and threshold rules", async () => {
    const cases: [number, number, RegExp][] = [
      [0, 0, /shares must be at least one/],
      [3, 0, /threshold must be at least one/],
      [3, 1, /threshold must be greater than one for multiple shares/],
      [256, 2, /shares must be less than 256/],
      [2, 3, /threshold cannot be larger than shares/],
      [2.5, 2, /integer/],
    ];
    for (const [n, t, msg] of cases) {
      const seal = new Seal({ storage: new MapStorage() });
      await assert.rejects(seal.initialize({ secretShares: n, secretThreshold: t }), (err) => {
        assert.ok(err instanceof BadRequestError);
        assert.match(err.message, /^invalid seal configuration: /);
        assert.match(err.message, msg);
        return true;
      });
      assert.equal(await seal.initialized(), false);
    }
    // The edges that are allowed.
    for (const [n, t] of [
      [1, 1],
      [2, 2],
      [255, 255],
    ] as const) {
      const { keys } = await initialized(n, t);
      assert.equal(keys.length, n);
    }
  });

  it('initialises 1/1 with the unseal key itself as the only share', async () => {
    const { seal, keys } = await initialized(1, 1);
    assert.equal(keys.length, 1);
    assert.equal(keys[0]?.length, 32);
    const status = await seal.submitShare(keys[0] as Buffer);
    assert.equal(status.sealed, false);
    assert.equal(status.t, 1);
    assert.equal(status.n, 1);
  });

  it('runs the setup callback with the barrier unsealed, then seals it again', async () => {
    const storage = new MapStorage();
    const seal = new Seal({ storage });
    const { keys, setup } = await seal.initialize(
      { secretShares: 3, secretThreshold: 2 },
      async (barrier) => {
        assert.equal(await seal.initialized(), false, 'config is written after setup');
        await barrier.put('auth/token/root', Buffer.from('root-token-record'));
        return 'made-root-token';
      },
    );
    assert.equal(setup, 'made-root-token');
    assert.equal(seal.barrier.sealed, true);
    await unsealWith(seal, keys.slice(0, 2));
    assert.equal((await seal.barrier.get('auth/token/root'))?.toString(), 'root-token-record');
  });

  it('does not count as initialised when the setup callback fails', async () => {
    const storage = new MapStorage();
    const seal = new Seal({ storage });
    await assert.rejects(
      seal.initialize({ secretShares: 3, secretThreshold: 2 }, async () => {
        throw new Error('token store failed');
      }),
      /token store failed/,
    );
    assert.equal(await seal.initialized(), false);
    assert.equal(seal.barrier.sealed, true);
    const { keys } = await seal.initialize({ secretShares: 3, secretThreshold: 2 });
    assert.equal((await unsealWith(seal, keys.slice(1))).sealed, false);
  });
});

describe('Seal: unsealing', () => {
  it('unseals with any 3 of 5 shares, counting progress under one nonce', async () => {
    const { seal, keys } = await initialized(5, 3);
    const combos = combinations(5, 3);
    assert.equal(combos.length, 10);
    for (const combo of combos) {
      const picked = combo.map((i) => keys[i] as Buffer);
      const s1 = await seal.submitShare(picked[0] as Buffer);
      assert.equal(s1.progress, 1);
      assert.equal(s1.sealed, true);
      assert.match(
        s1.nonce,
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
      const s2 = await seal.submitShare(picked[1] as Buffer);
      assert.equal(s2.progress, 2);
      assert.equal(s2.nonce, s1.nonce);
      assert.equal(s2.sealed, true);
      const s3 = await seal.submitShare(picked[2] as Buffer);
      assert.deepEqual(s3, {
        initialized: true,
        sealed: false,
        t: 3,
        n: 5,
        progress: 0,
        nonce: '',
      });
      assert.equal(seal.barrier.sealed, false, `combination ${combo.join(',')}`);
      seal.seal();
      assert.equal(seal.barrier.sealed, true);
    }
  });

  it('stays sealed with only two shares, and a new attempt gets a new nonce', async () => {
    const { seal, keys } = await initialized(5, 3);
    const s = await unsealWith(seal, keys.slice(3));
    assert.equal(s.sealed, true);
    assert.equal(s.progress, 2);
    await assert.rejects(seal.barrier.get('anything'), SealedError);
    seal.resetUnseal();
    assert.deepEqual(await seal.status(), {
      initialized: true,
      sealed: true,
      t: 3,
      n: 5,
      progress: 0,
      nonce: '',
    });
    const again = await seal.submitShare(keys[0] as Buffer);
    assert.equal(again.progress, 1);
    assert.notEqual(again.nonce, s.nonce);
  });

  it('rejects a wrong share at the threshold, resets progress and stays sealed', async () => {
    const { seal, keys } = await initialized(5, 3);
    await unsealWith(seal, keys.slice(0, 2));
    const wrong = forgedShare(keys);
    await assert.rejects(seal.submitShare(wrong), (err) => {
      assert.ok(err instanceof InvalidUnsealKeyError);
      assert.ok(err instanceof BadRequestError);
      assert.equal(err.status, 400);
      assert.equal(err.message, 'Unseal failed, invalid key');
      assertNoKeyMaterial(err, [...keys, wrong]);
      return true;
    });
    const s = await seal.status();
    assert.equal(s.sealed, true);
    assert.equal(s.progress, 0);
    assert.equal(s.nonce, '');
    // The right shares still work afterwards.
    assert.equal((await unsealWith(seal, keys.slice(2))).sealed, false);
  });

  it('rejects malformed shares with a 400 and leaves the progress unchanged', async () => {
    const { seal, keys } = await initialized(5, 3);
    const s1 = await seal.submitShare(keys[0] as Buffer);
    const bad = [
      Buffer.alloc(0),
      randomBytes(16),
      randomBytes(32),
      randomBytes(34),
      Buffer.concat([randomBytes(32), Buffer.of(0)]),
    ];
    for (const b of bad) {
      await assert.rejects(seal.submitShare(b), (err) => {
        assert.ok(err instanceof BadRequestError);
        assert.equal(err.status, 400);
        assert.match(err.message, /^invalid key/);
        assertNoKeyMaterial(err, [...keys, b]);
        return true;
      });
      const s = await seal.status();
      assert.equal(s.progress, 1);
      assert.equal(s.nonce, s1.nonce);
    }
    assert.equal((await unsealWith(seal, keys.slice(1, 3))).sealed, false);
  });

  it('rejects a share given twice in one attempt and leaves the progress unchanged', async () => {
    const { seal, keys } = await initialized(5, 3);
    await seal.submitShare(keys[0] as Buffer);
    await seal.submitShare(keys[1] as Buffer);
    await assert.rejects(seal.submitShare(Buffer.from(keys[1] as Buffer)), {
      name: 'BadRequestError',
      message: /already been provided/,
    });
    // Same x-coordinate, different bytes: refused too, without ending the attempt.
    const sameIndex = Buffer.concat([randomBytes(32), (keys[0] as Buffer).subarray(32)]);
    await assert.rejects(seal.submitShare(sameIndex), BadRequestError);
    assert.equal((await seal.status()).progress, 2);
    assert.equal((await seal.submitShare(keys[4] as Buffer)).sealed, false);
  });

  it('keeps its own copy of each share, so callers may wipe theirs', async () => {
    const { seal, keys } = await initialized(3, 2);
    const mine = Buffer.from(keys[0] as Buffer);
    await seal.submitShare(mine);
    mine.fill(0);
    assert.equal((await seal.submitShare(keys[1] as Buffer)).sealed, false);
  });

  it('returns the status when already unsealed', async () => {
    const { seal, keys } = await initialized(3, 2);
    await unsealWith(seal, keys.slice(0, 2));
    const s = await seal.submitShare(randomBytes(5));
    assert.equal(s.sealed, false);
    assert.equal(s.progress, 0);
  });

  it('seals and unseals again with data written in between still readable', async () => {
    const { seal, keys } = await initialized(5, 3);
    await unsealWith(seal, keys.slice(0, 3));
    await seal.barrier.put('secret/db', Buffer.from('password=s3cr3t'));
    seal.seal();
    assert.equal((await seal.status()).sealed, true);
    await assert.rejects(seal.barrier.get('secret/db'), SealedError);
    await seal.submitShare(keys[4] as Buffer);
    seal.seal(); // a seal also drops a half-done attempt
    assert.equal((await seal.status()).progress, 0);
    assert.equal((await unsealWith(seal, [keys[1], keys[3], keys[4]] as Buffer[])).sealed, false);
    assert.equal((await seal.barrier.get('secret/db'))?.toString(), 'password=s3cr3t');
  });

  it('unseals a second Seal over the same storage with the same shares', async () => {
    const { storage, keys } = await initialized(3, 2);
    const node2 = new Seal({ storage });
    assert.equal((await node2.status()).initialized, true);
    assert.equal((await unsealWith(node2, keys.slice(1))).sealed, false);
  });
});

describe('Seal: rekey', () => {
  it('rekeys 5/3 to 3/2: old shares stop working, new shares unseal', async () => {
    const { storage, seal, keys } = await initialized(5, 3);
    await unsealWith(seal, keys.slice(0, 3));
    await seal.barrier.put('secret/kept', Buffer.from('survives rekey'));

    const init = await seal.rekeyInit({ secretShares: 3, secretThreshold: 2 });
    assert.deepEqual(
      { ...init, nonce: 'x' },
      {
        started: true,
        nonce: 'x',
        t: 2,
        n: 3,
        progress: 0,
        required: 3,
        pgp_fingerprints: null,
        backup: false,
        verification_required: false,
      },
    );
    assert.match(init.nonce, /^[0-9a-f-]{36}$/);
    assert.deepEqual(await seal.rekeyStatus(), init);

    await assert.rejects(seal.rekeyUpdate(keys[0] as Buffer, 'not-the-nonce'), {
      name: 'BadRequestError',
      message: /incorrect nonce/,
    });
    const p1 = (await seal.rekeyUpdate(keys[4] as Buffer, init.nonce)) as RekeyStatus;
    assert.equal(p1.progress, 1);
    assert.equal('complete' in p1, false);
    await assert.rejects(seal.rekeyUpdate(keys[4] as Buffer, init.nonce), /already been provided/);
    const p2 = (await seal.rekeyUpdate(keys[2] as Buffer, init.nonce)) as RekeyStatus;
    assert.equal(p2.progress, 2);

    storage.transactions = [];
    const done = (await seal.rekeyUpdate(keys[0] as Buffer, init.nonce)) as RekeyResult;
    assert.equal(done.complete, true);
    assert.equal(done.nonce, init.nonce);
    assert.equal(done.keys.length, 3);
    for (const k of done.keys) assert.equal(k.length, 33);
    // Keyring and seal config were written in one transaction.
    assert.equal(storage.transactions.length, 1);
    assert.deepEqual(storage.transactions[0]?.map((op) => op.key).sort(), [
      KEYRING_PATH,
      SEAL_CONFIG_PATH,
    ]);

    assert.equal(seal.barrier.sealed, false, 'rekey does not seal');
    assert.equal((await seal.rekeyStatus()).started, false);
    const st = await seal.status();
    assert.equal(st.t, 2);
    assert.equal(st.n, 3);

    seal.seal();
    // Old shares no longer open the keyring (two are now a threshold).
    await seal.submitShare(keys[0] as Buffer);
    await assert.rejects(seal.submitShare(keys[1] as Buffer), InvalidUnsealKeyError);
    await seal.submitShare(keys[2] as Buffer);
    await assert.rejects(seal.submitShare(keys[3] as Buffer), InvalidUnsealKeyError);
    assert.equal((await seal.status()).sealed, true);
    // Any two new shares do.
    for (const pair of combinations(3, 2)) {
      const s = await unsealWith(
        seal,
        pair.map((i) => done.keys[i] as Buffer),
      );
      assert.equal(s.sealed, false);
      assert.equal((await seal.barrier.get('secret/kept'))?.toString(), 'survives rekey');
      seal.seal();
    }
  });

  it('rejects wrong current shares, resets progress and keeps the rekey open', async () => {
    const { seal, keys } = await initialized(3, 2);
    await unsealWith(seal, keys.slice(0, 2));
    const { nonce } = await seal.rekeyInit({ secretShares: 5, secretThreshold: 3 });
    await seal.rekeyUpdate(keys[0] as Buffer, nonce);
    await assert.rejects(seal.rekeyUpdate(forgedShare(keys), nonce), (err) => {
      assert.ok(err instanceof BadRequestError);
      assert.match(err.message, /verification failed/);
      assertNoKeyMaterial(err, keys);
      return true;
    });
    const st = await seal.rekeyStatus();
    assert.equal(st.started, true);
    assert.equal(st.nonce, nonce);
    assert.equal(st.progress, 0);
    await seal.rekeyUpdate(keys[1] as Buffer, nonce);
    const done = (await seal.rekeyUpdate(keys[2] as Buffer, nonce)) as RekeyResult;
    assert.equal(done.complete, true);
    assert.equal(done.keys.length, 5);
    seal.seal();
    assert.equal((await unsealWith(seal, done.keys.slice(2))).sealed, false);
  });

  it('rekeys between 1/1 and Shamir shares in both directions', async () => {
    const { seal, keys } = await initialized(1, 1);
    await seal.submitShare(keys[0] as Buffer);
    let { nonce } = await seal.rekeyInit({ secretShares: 4, secretThreshold: 2 });
    const four = (await seal.rekeyUpdate(keys[0] as Buffer, nonce)) as RekeyResult;
    assert.equal(four.complete, true);
    assert.equal(four.keys.length, 4);
    seal.seal();
    await assert.rejects(seal.submitShare(keys[0] as Buffer), /invalid key/);
    await unsealWith(seal, [four.keys[3], four.keys[1]] as Buffer[]);
    assert.equal(seal.barrier.sealed, false);

    ({ nonce } = await seal.rekeyInit({ secretShares: 1, secretThreshold: 1 }));
    await seal.rekeyUpdate(four.keys[0] as Buffer, nonce);
    const one = (await seal.rekeyUpdate(four.keys[2] as Buffer, nonce)) as RekeyResult;
    assert.equal(one.keys.length, 1);
    assert.equal(one.keys[0]?.length, 32);
    seal.seal();
    assert.equal((await seal.submitShare(one.keys[0] as Buffer)).sealed, false);
  });

  it('leaves the old shares working when the rekey transaction fails', async () => {
    const { storage, seal, keys } = await initialized(3, 2);
    await unsealWith(seal, keys.slice(0, 2));
    const cfgBefore = storage.data.get(SEAL_CONFIG_PATH);
    const { nonce } = await seal.rekeyInit({ secretShares: 2, secretThreshold: 2 });
    await seal.rekeyUpdate(keys[0] as Buffer, nonce);
    storage.failTransactions = true;
    await assert.rejects(seal.rekeyUpdate(keys[1] as Buffer, nonce), /storage unavailable/);
    storage.failTransactions = false;
    assert.deepEqual(storage.data.get(SEAL_CONFIG_PATH), cfgBefore);
    seal.seal();
    assert.equal((await unsealWith(seal, keys.slice(1))).sealed, false);
  });

  it('validates the new configuration, refuses a second rekey and cancels idempotently', async () => {
    const { seal, keys } = await initialized(3, 2);
    await assert.rejects(seal.rekeyInit({ secretShares: 3, secretThreshold: 2 }), SealedError);
    await assert.rejects(seal.rekeyStatus(), SealedError);
    await assert.rejects(seal.rekeyUpdate(keys[0] as Buffer, 'x'), SealedError);
    await unsealWith(seal, keys.slice(0, 2));

    assert.deepEqual(await seal.rekeyStatus(), {
      started: false,
      nonce: '',
      t: 0,
      n: 0,
      progress: 0,
      required: 2,
      pgp_fingerprints: null,
      backup: false,
      verification_required: false,
    });
    await assert.rejects(seal.rekeyUpdate(keys[0] as Buffer, ''), /no barrier rekey in progress/);
    await assert.rejects(
      seal.rekeyInit({ secretShares: 2, secretThreshold: 3 }),
      /provided threshold greater than the total shares/,
    );
    await assert.rejects(
      seal.rekeyInit({ secretShares: 4, secretThreshold: 1 }),
      /invalid rekey seal configuration: threshold must be greater than one/,
    );
    const first = await seal.rekeyInit({ secretShares: 4, secretThreshold: 3 });
    await assert.rejects(
      seal.rekeyInit({ secretShares: 4, secretThreshold: 3 }),
      /rekey already in progress/,
    );
    await seal.rekeyUpdate(keys[0] as Buffer, first.nonce);
    seal.rekeyCancel();
    seal.rekeyCancel();
    assert.equal((await seal.rekeyStatus()).started, false);
    const second = await seal.rekeyInit({ secretShares: 4, secretThreshold: 3 });
    assert.notEqual(second.nonce, first.nonce);
    assert.equal(second.progress, 0);
    await assert.rejects(seal.rekeyUpdate(keys[0] as Buffer, first.nonce), /incorrect nonce/);
  });
});
