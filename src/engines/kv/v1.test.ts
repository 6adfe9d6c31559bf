import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BadRequestError, NotFoundError } from '../../lib/errors.ts';
import { kvBackend } from './index.ts';
import { InspectableStorage, send, testContext, testRequest } from './test-kit.ts';
import { kvV1Backend } from './v1.ts';

function setup(opts: { mountDefaultTtlSeconds?: number } = {}) {
  const storage = new InspectableStorage();
  return { storage, backend: kvV1Backend(), ctx: testContext(storage, opts) };
}

describe('KV v1', () => {
  it('stores the body as written and reads it back whole', async () => {
    const { backend, ctx } = setup();
    const body = { user: 'app', password: 's3cr3t', nested: { a: [1, 2] } };
    assert.equal(await send(backend, ctx, 'update', 'app/db', { data: body }), undefined);

    const resp = await send(backend, ctx, 'read', 'app/db');
    assert.deepEqual(resp?.data, body);
    assert.equal(resp?.renewable, false);
  });

  it('keys storage by the secret path itself', async () => {
    const { storage, backend, ctx } = setup();
    await send(backend, ctx, 'update', 'app/db', { data: { a: 'b' } });
    assert.deepEqual([...(await storage.snapshot())], [['app/db', '{"a":"b"}']]);
  });

  it('replaces the whole secret on every write', async () => {
    const { backend, ctx } = setup();
    await send(backend, ctx, 'update', 'k', { data: { a: '1', b: '2' } });
    await send(backend, ctx, 'update', 'k', { data: { c: '3' } });
    assert.deepEqual((await send(backend, ctx, 'read', 'k'))?.data, { c: '3' });
  });

  it('answers a missing secret with a bare 404', async () => {
    const { backend, ctx } = setup();
    await assert.rejects(send(backend, ctx, 'read', 'nope'), NotFoundError);
  });

  it('deletes a secret, and deleting a missing one is not an error', async () => {
    const { storage, backend, ctx } = setup();
    await send(backend, ctx, 'update', 'k', { data: { a: '1' } });
    assert.equal(await send(backend, ctx, 'delete', 'k'), undefined);
    await assert.rejects(send(backend, ctx, 'read', 'k'), NotFoundError);
    assert.equal(await send(backend, ctx, 'delete', 'k'), undefined);
    assert.equal((await storage.snapshot()).size, 0);
  });

  it('refuses an empty body with "missing data fields"', async () => {
    const { backend, ctx } = setup();
    await assert.rejects(send(backend, ctx, 'update', 'k', { data: {} }), {
      name: 'BadRequestError',
      message: 'missing data fields',
    });
  });

  it('refuses a body that is not a JSON object', async () => {
    const { backend, ctx } = setup();
    const req = testRequest('update', 'k');
    req.data = ['a', 'b'] as unknown as Record<string, unknown>;
    await assert.rejects(backend.handle(req, ctx), BadRequestError);
  });

  it('uses the default lease of 768h when the secret has no ttl', async () => {
    const { backend, ctx } = setup();
    await send(backend, ctx, 'update', 'k', { data: { a: '1' } });
    assert.equal((await send(backend, ctx, 'read', 'k'))?.leaseDurationSeconds, 2_764_800);
  });

  it("prefers the mount's default lease TTL over the system's", async () => {
    const { backend, ctx } = setup({ mountDefaultTtlSeconds: 600 });
    await send(backend, ctx, 'update', 'k', { data: { a: '1' } });
    assert.equal((await send(backend, ctx, 'read', 'k'))?.leaseDurationSeconds, 600);
  });

  it('turns a ttl field into the lease duration and keeps it in the data', async () => {
    const { backend, ctx } = setup();
    await send(backend, ctx, 'update', 'a', { data: { v: '1', ttl: '1h30m' } });
    await send(backend, ctx, 'update', 'b', { data: { v: '1', ttl: 90 } });
    await send(backend, ctx, 'update', 'c', { data: { v: '1', lease: '2m' } });

    const a = await send(backend, ctx, 'read', 'a');
    assert.equal(a?.leaseDurationSeconds, 5400);
    assert.equal(a?.data?.ttl, '1h30m');
    assert.equal((await send(backend, ctx, 'read', 'b'))?.leaseDurationSeconds, 90);
    assert.equal((await send(backend, ctx, 'read', 'c'))?.leaseDurationSeconds, 120);
  });

  it('falls back to the default lease when the ttl does not parse', async () => {
    const { backend, ctx } = setup();
    await send(backend, ctx, 'update', 'k', { data: { ttl: 'soon' } });
    assert.equal((await send(backend, ctx, 'read', 'k'))?.leaseDurationSeconds, 2_764_800);
  });

  it('lists one level with folders ending in "/"', async () => {
    const { backend, ctx } = setup();
    for (const path of ['app/db', 'app/api/key', 'app/api/cert', 'top']) {
      await send(backend, ctx, 'update', path, { data: { v: path } });
    }
    assert.deepEqual((await send(backend, ctx, 'list', ''))?.data, { keys: ['app/', 'top'] });
    assert.deepEqual((await send(backend, ctx, 'list', 'app/'))?.data, { keys: ['api/', 'db'] });
    assert.deepEqual((await send(backend, ctx, 'list', 'app/api/'))?.data, {
      keys: ['cert', 'key'],
    });
  });

  it('answers an empty list with a 404', async () => {
    const { backend, ctx } = setup();
    await assert.rejects(send(backend, ctx, 'list', ''), NotFoundError);
    await assert.rejects(send(backend, ctx, 'list', 'nothing/'), NotFoundError);
  });

  it('reports existence so a first write is checked as create', async () => {
    const { backend, ctx } = setup();
    assert.equal(await backend.exists(testRequest('update', 'k'), ctx), false);
    await send(backend, ctx, 'update', 'k', { data: { a: '1' } });
    assert.equal(await backend.exists(testRequest('update', 'k'), ctx), true);
  });

  it('refuses paths with "..", empty segments or NUL, and writes nothing', async () => {
    const { storage, backend, ctx } = setup();
    for (const path of ['a/../b', '..', 'a//b', '/a', 'a/', 'a\0b', 'a/./b']) {
      await assert.rejects(
        send(backend, ctx, 'update', path, { data: { v: '1' } }),
        BadRequestError,
        JSON.stringify(path),
      );
      assert.equal(await backend.exists(testRequest('update', path), ctx), false);
    }
    await assert.rejects(send(backend, ctx, 'read', 'a/../b'), BadRequestError);
    await assert.rejects(send(backend, ctx, 'list', 'a/../'), BadRequestError);
    assert.equal((await storage.snapshot()).size, 0);
  });
});

describe('kvBackend', () => {
  it('mounts version 1 by default and version 2 on request', async () => {
    const storage = new InspectableStorage();
    const ctx = testContext(storage);

    await send(kvBackend({}), ctx, 'update', 'k', { data: { a: '1' } });
    assert.deepEqual([...(await storage.snapshot()).keys()], ['k']);

    const v2 = kvBackend({ version: '2' });
    const resp = await send(v2, ctx, 'update', 'data/k', { data: { data: { a: '1' } } });
    assert.equal(resp?.data?.version, 1);
  });

  it('refuses an unknown version', () => {
    assert.throws(() => kvBackend({ version: '3' }), BadRequestError);
  });
});
