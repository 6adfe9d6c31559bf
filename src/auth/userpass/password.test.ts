import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SCRYPT_DEFAULTS, scryptKdf } from './password.ts';

describe('scrypt password hashing', () => {
  const kdf = scryptKdf({ logN: 10, r: 1, p: 1 });

  it('verifies the right password and no other, with a fresh salt each time', async () => {
    const one = await kdf.hash('hunter2');
    const two = await kdf.hash('hunter2');
    assert.notEqual(one, two, 'salted');
    assert.match(one, /^\$scrypt\$ln=10,r=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    assert.equal(await kdf.verify('hunter2', one), true);
    assert.equal(await kdf.verify('hunter3', one), false);
    assert.equal(await kdf.verify('', one), false);
    assert.equal(await kdf.verify('pässwörd', await kdf.hash('pässwörd')), true);
  });

  it('reads the cost from the stored hash, not from its own settings', async () => {
    const other = scryptKdf({ logN: 11, r: 2, p: 1 });
    const hash = await other.hash('pw');
    assert.equal(await kdf.verify('pw', hash), true);
    assert.equal(kdf.needsRehash(hash), false);
    assert.equal(other.needsRehash(await kdf.hash('pw')), true);
  });

  it('has a dummy hash that costs a verification and matches nothing', async () => {
    assert.match(kdf.dummy(), /^\$scrypt\$ln=10,r=1,p=1\$/);
    assert.equal(await kdf.verify('', kdf.dummy()), false);
    assert.equal(await kdf.verify('anything', kdf.dummy()), false);
  });

  it('refuses damaged hashes and parameters that would cost too much', async () => {
    await assert.rejects(kdf.verify('pw', 'plain-text'), /PHC form/);
    await assert.rejects(kdf.verify('pw', '$scrypt$ln=30,r=8,p=1$c2FsdHNhbHQ$aGFzaA'), /logN/);
    assert.throws(() => scryptKdf({ logN: 4, r: 8, p: 1 }), /logN=4/);
  });

  it('defaults to OWASP-grade cost: N=2^15, r=8, p=3', () => {
    assert.deepEqual(SCRYPT_DEFAULTS, { logN: 15, r: 8, p: 3 });
  });
});
