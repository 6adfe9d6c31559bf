import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { InternalError } from '../lib/errors.ts';
import {
  generateKey,
  InvalidUnsealKeyError,
  importKey,
  Keyring,
  openKeyring,
  sealKeyring,
} from './keyring.ts';

function raw(k: { export(): Buffer }): string {
  return k.export().toString('hex');
}

describe('Keyring', () => {
  it('starts with term 1 active and a root key distinct from it', () => {
    const now = new Date('2026-01-02T03:04:05.678Z');
    const kr = Keyring.generate(now);
    assert.equal(kr.activeTerm, 1);
    assert.equal(kr.active.term, 1);
    assert.equal(kr.active.installTime.toISOString(), now.toISOString());
    assert.equal(kr.active.key.symmetricKeySize, 32);
    assert.equal(kr.rootKey.symmetricKeySize, 32);
    assert.notEqual(raw(kr.rootKey), raw(kr.active.key));
  });

  it('adds a new active term on rotation and leaves the original keyring unchanged', () => {
    const kr = Keyring.generate();
    const next = kr.withNewTerm();
    assert.equal(kr.activeTerm, 1);
    assert.equal(kr.terms().length, 1);
    assert.equal(next.activeTerm, 2);
    assert.deepEqual(
      next.terms().map((t) => t.term),
      [1, 2],
    );
    assert.equal(raw(next.term(1)?.key ?? kr.rootKey), raw(kr.active.key));
    assert.notEqual(raw(next.active.key), raw(kr.active.key));
    assert.equal(raw(next.rootKey), raw(kr.rootKey));
  });

  it('round-trips through its JSON form with the same key bytes and install times', () => {
    const kr = Keyring.generate(new Date('2026-01-01T00:00:00Z')).withNewTerm(
      new Date('2026-02-01T00:00:00Z'),
    );
    const json = kr.serialize();
    const parsed = Keyring.parse(json);
    assert.equal(parsed.activeTerm, 2);
    assert.equal(raw(parsed.rootKey), raw(kr.rootKey));
    for (const t of kr.terms()) {
      const p = parsed.term(t.term);
      assert.ok(p);
      assert.equal(raw(p.key), raw(t.key));
      assert.equal(p.installTime.toISOString(), t.installTime.toISOString());
    }
    const obj = JSON.parse(json.toString('utf8'));
    assert.equal(obj.active_term, 2);
    assert.equal(obj.terms[0].key, kr.term(1)?.key.export().toString('base64'));
  });

  it('refuses malformed JSON forms with an internal error', () => {
    const good = JSON.parse(Keyring.generate().serialize().toString('utf8'));
    const cases = [
      Buffer.from('not json'),
      Buffer.from(JSON.stringify({ ...good, active_term: 7 })),
      Buffer.from(JSON.stringify({ ...good, terms: [] })),
      Buffer.from(
        JSON.stringify({
          ...good,
          terms: [{ ...good.terms[0], key: randomBytes(16).toString('base64') }],
        }),
      ),
      Buffer.from(JSON.stringify({ ...good, terms: [good.terms[0], good.terms[0]] })),
      Buffer.from(JSON.stringify({ ...good, version: 9 })),
    ];
    for (const c of cases) assert.throws(() => Keyring.parse(c), InternalError);
  });

  it('seals under the unseal key and opens only with that key', () => {
    const kr = Keyring.generate();
    const unsealRaw = randomBytes(32);
    const blob = sealKeyring(kr, importKey(unsealRaw));
    assert.equal(blob[0], 1);
    // Neither the keys nor their base64 appear in the sealed form.
    const keyB64 = kr.active.key.export().toString('base64');
    assert.equal(blob.includes(Buffer.from(keyB64)), false);
    assert.equal(blob.includes(kr.active.key.export()), false);

    const opened = openKeyring(blob, importKey(unsealRaw));
    assert.equal(raw(opened.active.key), raw(kr.active.key));

    assert.throws(() => openKeyring(blob, generateKey()), InvalidUnsealKeyError);
    const tampered = Buffer.from(blob);
    tampered[20] = (tampered[20] ?? 0) ^ 1;
    assert.throws(() => openKeyring(tampered, importKey(unsealRaw)), InvalidUnsealKeyError);
  });

  it("reports a wrong unseal key with Vault's message and status 400", () => {
    const blob = sealKeyring(Keyring.generate(), generateKey());
    try {
      openKeyring(blob, generateKey());
      assert.fail('expected an error');
    } catch (err) {
      assert.ok(err instanceof InvalidUnsealKeyError);
      assert.equal(err.message, 'Unseal failed, invalid key');
      assert.equal(err.status, 400);
    }
  });

  it('refuses keys that are not 32 bytes', () => {
    assert.throws(() => importKey(randomBytes(31)), InternalError);
    assert.throws(() => importKey(randomBytes(33)), InternalError);
  });
});
