import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NotFoundError } from '../../lib/errors.ts';
import { InspectableStorage, send, TestClock, testContext } from './test-kit.ts';
import { kvV2Backend } from './v2.ts';

describe('KV v2 backend', () => {
  it('takes a secret through its whole life', async () => {
    const storage = new InspectableStorage();
    const clock = new TestClock();
    const backend = kvV2Backend();
    const ctx = testContext(storage, { clock });
    const call = (op: Parameters<typeof send>[2], path: string, opts = {}) =>
      send(backend, ctx, op, path, opts);

    // Create with cas 0, update with the matching cas, lose a stale cas.
    assert.equal(
      (await call('update', 'data/app', { data: { data: { pw: 'a1' }, options: { cas: 0 } } }))
        ?.data?.version,
      1,
    );
    clock.advanceSeconds(1);
    assert.equal(
      (await call('update', 'data/app', { data: { data: { pw: 'b2' }, options: { cas: 1 } } }))
        ?.data?.version,
      2,
    );
    await assert.rejects(
      call('update', 'data/app', { data: { data: { pw: 'zz' }, options: { cas: 1 } } }),
      { status: 400, message: 'check-and-set parameter did not match the current version' },
    );

    // Patch adds a field and removes another.
    clock.advanceSeconds(1);
    await call('patch', 'data/app', { data: { data: { user: 'svc', pw: null } } });
    assert.deepEqual((await call('read', 'data/app'))?.data?.data, { user: 'svc' });

    // Soft delete of the latest, then undelete.
    await call('delete', 'data/app');
    assert.equal((await call('read', 'data/app'))?.status, 404);
    await call('update', 'undelete/app', { data: { versions: [3] } });
    assert.deepEqual((await call('read', 'data/app'))?.data?.data, { user: 'svc' });

    // Destroy the first version: its value is gone from storage.
    await call('update', 'destroy/app', { data: { versions: [1] } });
    const raw = [...(await storage.snapshot()).values()].join('\n');
    assert.ok(!raw.includes('a1'));
    assert.ok(raw.includes('b2'));

    const meta = await call('read', 'metadata/app');
    assert.equal(meta?.data?.current_version, 3);
    const versions = meta?.data?.versions as Record<
      string,
      { destroyed: boolean; deletion_time: string }
    >;
    assert.equal(versions['1']?.destroyed, true);
    assert.equal(versions['3']?.deletion_time, '');
    assert.deepEqual((await call('list', 'metadata/'))?.data, { keys: ['app'] });

    // Deleting the metadata removes everything.
    await call('delete', 'metadata/app');
    assert.equal((await storage.snapshot()).size, 0);
    await assert.rejects(call('list', 'metadata/'), NotFoundError);
  });

  it('points clients at the right API for paths outside it', async () => {
    const backend = kvV2Backend();
    const ctx = testContext(new InspectableStorage());

    const plain = await send(backend, ctx, 'read', 'app/db');
    assert.equal(plain?.status, 404);
    assert.deepEqual(plain?.warnings, [
      'Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate ' +
        "API endpoints to use. If using the Vault CLI, use 'vault kv get' for this operation.",
    ]);

    const listed = await send(backend, ctx, 'list', '');
    assert.match(listed?.warnings?.[0] ?? '', /'vault kv list'/);

    const root = await send(backend, ctx, 'read', 'data');
    assert.deepEqual(root?.warnings, [
      'Non-listing operations on the root of a K/V v2 mount are not supported.',
    ]);
  });

  it('keeps the secrets of two mounts apart even when one backend serves both', async () => {
    const backend = kvV2Backend();
    const a = testContext(new InspectableStorage());
    const b = { ...testContext(new InspectableStorage()) };
    b.mount = { ...b.mount, uuid: 'other-mount' };
    await send(backend, a, 'update', 'data/k', { data: { data: { v: 'a' } } });
    await assert.rejects(send(backend, b, 'read', 'data/k'), NotFoundError);
  });
});
