import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import type { LogicalRequest } from '../framework/types.ts';
import { formatEntry, hashStrings, hmacValue } from './entry.ts';

const salt = Buffer.from('0123456789abcdef0123456789abcdef');

function request(): LogicalRequest {
  return {
    id: 'r1',
    operation: 'update',
    path: 'secret/data/a',
    relPath: 'data/a',
    mountPoint: 'secret/',
    data: { data: { pw: 'hunter2', n: 3, ok: true, list: ['x', 1] } },
    query: {},
    clientToken: 'hvs.token',
    caller: {
      accessor: 'acc',
      displayName: 'root',
      policies: ['root'],
      entityId: '',
      meta: {},
      tokenHash: 'h',
      remoteAddr: '127.0.0.1',
    },
    remoteAddr: '127.0.0.1',
    headers: {},
  };
}

describe('audit entries', () => {
  it('HMACs strings with SHA-256 under the salt, Vault’s way', () => {
    const expected = createHmac('sha256', salt).update('hunter2').digest('hex');
    assert.equal(hmacValue(salt, 'hunter2'), `hmac-sha256:${expected}`);
  });

  it('hashes every string value at any depth and keeps keys, numbers and booleans', () => {
    const out = hashStrings({ a: 'x', b: [1, 'y', { c: 'z' }], d: false, e: null }, salt);
    assert.deepEqual(out, {
      a: hmacValue(salt, 'x'),
      b: [1, hmacValue(salt, 'y'), { c: hmacValue(salt, 'z') }],
      d: false,
      e: null,
    });
  });

  it('leaves no token, accessor or secret in the clear unless log_raw', () => {
    const event = { type: 'request' as const, time: new Date(0), req: request() };
    const hashed = JSON.stringify(formatEntry(event, { salt, raw: false, hmacAccessor: true }));
    for (const clear of ['hunter2', 'hvs.token', '"acc"'])
      assert.equal(hashed.includes(clear), false);
    assert.ok(hashed.includes('"n":3'));
    assert.ok(hashed.includes('"path":"secret/data/a"'));

    const plainAccessor = JSON.stringify(
      formatEntry(event, { salt, raw: false, hmacAccessor: false }),
    );
    assert.ok(plainAccessor.includes('"accessor":"acc"'));
    assert.equal(plainAccessor.includes('hvs.token'), false);

    const raw = JSON.stringify(formatEntry(event, { salt, raw: true, hmacAccessor: true }));
    assert.ok(raw.includes('hunter2'));
  });
});
