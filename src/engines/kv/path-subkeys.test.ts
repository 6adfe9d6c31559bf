import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NotFoundError } from '../../lib/errors.ts';
import { InspectableStorage, send, testContext } from './test-kit.ts';
import { kvV2Backend } from './v2.ts';

function setup() {
  const storage = new InspectableStorage();
  return { backend: kvV2Backend(), ctx: testContext(storage) };
}

const SECRET = { foo: 'abc', bar: { baz: 'def', deep: { x: 1 } }, empty: {}, list: [1, 2] };

describe('KV v2 subkeys', () => {
  it('returns the structure with every value replaced by null', async () => {
    const { backend, ctx } = setup();
    await send(backend, ctx, 'update', 'data/k', { data: { data: SECRET } });
    const resp = await send(backend, ctx, 'read', 'subkeys/k');
    assert.deepEqual(resp?.data?.subkeys, {
      foo: null,
      bar: { baz: null, deep: { x: null } },
      empty: null,
      list: null,
    });
    assert.equal(((resp?.data?.metadata ?? {}) as { version: number }).version, 1);
  });

  it('stops at the requested depth', async () => {
    const { backend, ctx } = setup();
    await send(backend, ctx, 'update', 'data/k', { data: { data: SECRET } });
    const one = await send(backend, ctx, 'read', 'subkeys/k', { query: { depth: '1' } });
    assert.deepEqual(one?.data?.subkeys, { foo: null, bar: null, empty: null, list: null });
    const two = await send(backend, ctx, 'read', 'subkeys/k', { query: { depth: '2' } });
    assert.deepEqual(two?.data?.subkeys, {
      foo: null,
      bar: { baz: null, deep: null },
      empty: null,
      list: null,
    });
  });

  it('answers 404 with metadata for a deleted version and a bare 404 for a missing one', async () => {
    const { backend, ctx } = setup();
    await assert.rejects(send(backend, ctx, 'read', 'subkeys/k'), NotFoundError);
    await send(backend, ctx, 'update', 'data/k', { data: { data: SECRET } });
    await send(backend, ctx, 'delete', 'data/k');
    const resp = await send(backend, ctx, 'read', 'subkeys/k');
    assert.equal(resp?.status, 404);
    assert.equal(resp?.data?.subkeys, null);
  });
});
