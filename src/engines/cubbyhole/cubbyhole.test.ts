import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BadRequestError, NotFoundError, PermissionDeniedError } from '../../lib/errors.ts';
import { InspectableStorage, send, testCaller, testContext, testRequest } from '../kv/test-kit.ts';
import { cubbyholeBackend, destroyCubbyhole } from './cubbyhole.ts';

function setup() {
  const storage = new InspectableStorage();
  return {
    storage,
    backend: cubbyholeBackend(),
    ctx: testContext(storage, { type: 'cubbyhole' }),
  };
}

const alice = testCaller('alice');
const bob = testCaller('bob');

describe('cubbyhole', () => {
  it("keeps each token's entries out of every other token's reach", async () => {
    const { backend, ctx } = setup();
    await send(backend, ctx, 'update', 'notes/one', { data: { v: 'alice-1' }, caller: alice });
    await send(backend, ctx, 'update', 'notes/one', { data: { v: 'bob-1' }, caller: bob });

    const read = (caller = alice) => send(backend, ctx, 'read', 'notes/one', { caller });
    assert.deepEqual((await read(alice))?.data, { v: 'alice-1' });
    assert.deepEqual((await read(bob))?.data, { v: 'bob-1' });

    await send(backend, ctx, 'delete', 'notes/one', { caller: bob });
    await assert.rejects(read(bob), NotFoundError);
    assert.deepEqual((await read(alice))?.data, { v: 'alice-1' });
    await assert.rejects(send(backend, ctx, 'list', '', { caller: bob }), NotFoundError);
  });

  it("lists only the calling token's entries, without the token folder", async () => {
    const { backend, ctx } = setup();
    await send(backend, ctx, 'update', 'a', { data: { v: '1' }, caller: alice });
    await send(backend, ctx, 'update', 'dir/b', { data: { v: '1' }, caller: alice });
    await send(backend, ctx, 'update', 'c', { data: { v: '1' }, caller: bob });

    assert.deepEqual((await send(backend, ctx, 'list', '', { caller: alice }))?.data, {
      keys: ['a', 'dir/'],
    });
    assert.deepEqual((await send(backend, ctx, 'list', 'dir/', { caller: alice }))?.data, {
      keys: ['b'],
    });
    assert.deepEqual((await send(backend, ctx, 'list', '', { caller: bob }))?.data, {
      keys: ['c'],
    });
  });

  it('stores entries under the token hash and returns no lease', async () => {
    const { storage, backend, ctx } = setup();
    await send(backend, ctx, 'update', 'x', { data: { v: '1', ttl: '1h' }, caller: alice });
    assert.deepEqual([...(await storage.snapshot()).keys()], ['hash-alice/x']);
    const resp = await send(backend, ctx, 'read', 'x', { caller: alice });
    assert.equal(resp?.leaseDurationSeconds, undefined);
  });

  it('refuses requests without a caller', async () => {
    const { backend, ctx } = setup();
    const req = testRequest('read', 'x');
    req.caller = undefined;
    await assert.rejects(backend.handle(req, ctx), PermissionDeniedError);
    const write = testRequest('update', 'x', { data: { v: '1' } });
    write.caller = undefined;
    await assert.rejects(backend.handle(write, ctx), PermissionDeniedError);
  });

  it('refuses paths that try to climb into another token', async () => {
    const { storage, backend, ctx } = setup();
    await send(backend, ctx, 'update', 'x', { data: { v: 'bob' }, caller: bob });
    await assert.rejects(
      send(backend, ctx, 'read', '../hash-bob/x', { caller: alice }),
      BadRequestError,
    );
    await assert.rejects(
      send(backend, ctx, 'update', '../hash-bob/x', { data: { v: 'evil' }, caller: alice }),
      BadRequestError,
    );
    assert.deepEqual([...(await storage.snapshot()).entries()], [['hash-bob/x', '{"v":"bob"}']]);
  });

  it('refuses an empty write with "missing data fields"', async () => {
    const { backend, ctx } = setup();
    await assert.rejects(send(backend, ctx, 'update', 'x', { data: {}, caller: alice }), {
      message: 'missing data fields',
    });
  });

  it('reports existence per token', async () => {
    const { backend, ctx } = setup();
    await send(backend, ctx, 'update', 'x', { data: { v: '1' }, caller: alice });
    assert.equal(await backend.exists(testRequest('update', 'x', { caller: alice }), ctx), true);
    assert.equal(await backend.exists(testRequest('update', 'x', { caller: bob }), ctx), false);
  });

  it("destroys one token's whole cubbyhole in one transaction", async () => {
    const { storage, backend, ctx } = setup();
    for (const path of ['a', 'dir/b', 'dir/deeper/c']) {
      await send(backend, ctx, 'update', path, { data: { v: '1' }, caller: alice });
    }
    await send(backend, ctx, 'update', 'a', { data: { v: '1' }, caller: bob });

    const before = storage.transactions;
    await destroyCubbyhole(storage, 'hash-alice');
    assert.equal(storage.transactions - before, 1);
    assert.deepEqual([...(await storage.snapshot()).keys()], ['hash-bob/a']);

    await destroyCubbyhole(storage, 'hash-nobody');
    assert.equal(storage.transactions - before, 1, 'nothing to delete, nothing written');
  });

  it('refuses to destroy with a hash that is not one folder name', async () => {
    const { storage } = setup();
    await assert.rejects(destroyCubbyhole(storage, ''), PermissionDeniedError);
    await assert.rejects(destroyCubbyhole(storage, 'a/b'), PermissionDeniedError);
  });
});
